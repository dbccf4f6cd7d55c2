{
  "targets": [{
    "target_name": "kpb_nftnl",
    "sources": ["src/addon.cc"],
    "cflags_cc": ["-std=c++17", "-fexceptions"],
    "defines": ["NAPI_CPP_EXCEPTIONS", "NAPI_VERSION=8"],
    "include_dirs": ["<!(node -p \"require('node-addon-api').include_dir\")", "<!@(pkg-config --cflags-only-I libnftnl libmnl | sed 's/-I//g')"],
    "libraries": ["<!@(pkg-config --libs libnftnl libmnl)"]
  }]
}
