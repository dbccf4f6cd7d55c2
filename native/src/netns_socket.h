// A NETLINK_NETFILTER socket created inside a named network namespace.
//
// The socket is created after setns(CLONE_NEWNET) on the calling (worker) thread and the thread
// is moved back to its original namespace immediately afterwards: libuv reuses worker threads,
// so a thread must never be left in a foreign namespace. A socket keeps the namespace it was
// created in for its whole life.
#pragma once

#include <cstdint>
#include <string>

struct mnl_socket;

namespace kpb {

class NetnsSocket {
 public:
  NetnsSocket() = default;
  ~NetnsSocket();
  NetnsSocket(const NetnsSocket&) = delete;
  NetnsSocket& operator=(const NetnsSocket&) = delete;

  // Opens the socket in namespace `netns` (a name under /var/run/netns) or in the current
  // namespace when `netns` is empty. Returns false and fills `error`/`errnoName` on failure.
  bool Open(const std::string& netns, std::string& error, std::string& errnoName);

  // Enables NETLINK_CAP_ACK + NETLINK_EXT_ACK and sizes the buffers (best effort; FORCE
  // variants need CAP_NET_ADMIN).
  void Configure(size_t sndbuf, size_t rcvbuf);

  int fd() const;
  uint32_t portid() const;
  mnl_socket* nl() const { return nl_; }

 private:
  mnl_socket* nl_ = nullptr;
};

// Validates a namespace name: non-empty, no '/', not "." or "..", at most 255 bytes.
bool ValidNetnsName(const std::string& name);

}  // namespace kpb
