// Request/response over a NetnsSocket: one GET or dump request, replies fed to a libmnl callback.
#pragma once

#include <libmnl/libmnl.h>

#include <cstdint>
#include <vector>

#include "netns_socket.h"

namespace kpb {

class Query {
 public:
  explicit Query(NetnsSocket& sock);
  // Buffer to build the request into (nftnl_nlmsg_build_hdr + *_nlmsg_build_payload).
  char* buffer() { return req_.data(); }
  uint32_t NextSeq() { return ++seq_; }
  // Sends the request at buffer() and runs `cb` on every reply until NLMSG_DONE / the ack.
  // Returns 0, or a positive errno (ETIMEDOUT when the kernel stops answering).
  int Run(uint32_t seq, mnl_cb_t cb, void* data);

  // Where the time of the queries went, for the listing's stats.
  struct Stats {
    uint32_t requests = 0, parts = 0;
    double sendMs = 0, recvMs = 0, waitMs = 0, parseMs = 0;
  };
  const Stats& stats() const { return stats_; }

 private:
  NetnsSocket& sock_;
  std::vector<char> req_;
  std::vector<char> rsp_;
  uint32_t seq_;
  Stats stats_;
};

}  // namespace kpb
