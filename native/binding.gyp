{
  "targets": [{
    "target_name": "kpb_nftnl",
    "sources": [
      "src/addon.cc",
      "src/apply_batch.cc",
      "src/batch_decoder.cc",
      "src/constants.cc",
      "src/get_generation.cc",
      "src/list_ruleset.cc",
      "src/netlink_acks.cc",
      "src/netlink_query.cc",
      "src/netns_socket.cc"
    ],
    "cflags!": ["-fno-exceptions"],
    "cflags_cc!": ["-fno-exceptions", "-std=gnu++17"],
    "cflags_cc": ["-std=c++17", "-fexceptions", "-O2", "-Wall", "-Wextra", "-Wno-unused-parameter"],
    "defines": ["NAPI_CPP_EXCEPTIONS", "NAPI_VERSION=8", "_GNU_SOURCE"],
    "include_dirs": [
      "<!(node -p \"require('node-addon-api').include_dir\")",
      "<!@(pkg-config --cflags-only-I libnftnl libmnl | sed 's/-I//g')"
    ],
    "libraries": ["<!@(pkg-config --libs libnftnl libmnl)"]
  }]
}
