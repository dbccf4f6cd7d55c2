#include "netns_socket.h"

#include <fcntl.h>
#include <libmnl/libmnl.h>
#include <linux/netlink.h>
#include <sched.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstdlib>
#include <cstdio>

#include "common.h"

namespace kpb {

namespace {

struct Fd {
  int fd = -1;
  ~Fd() {
    if (fd >= 0) close(fd);
  }
};

}  // namespace

bool ValidNetnsName(const std::string& name) {
  if (name.empty() || name.size() > 255 || name == "." || name == "..") return false;
  for (char c : name) {
    if (c == '/' || c == '\0') return false;
  }
  return true;
}

NetnsSocket::~NetnsSocket() {
  if (nl_) mnl_socket_close(nl_);
}

int NetnsSocket::fd() const { return mnl_socket_get_fd(nl_); }
uint32_t NetnsSocket::portid() const { return mnl_socket_get_portid(nl_); }

bool NetnsSocket::Open(const std::string& netns, std::string& error, std::string& errnoName) {
  auto fail = [&](const std::string& what, int err) {
    error = what + ": " + ErrnoText(err) + " (" + ErrnoName(err) + ")";
    errnoName = ErrnoName(err);
    return false;
  };

  if (netns.empty()) {
    nl_ = mnl_socket_open(NETLINK_NETFILTER);
    if (!nl_) return fail("netlink socket", errno);
  } else {
    if (!ValidNetnsName(netns)) {
      error = "invalid network namespace name '" + netns + "'";
      errnoName = "EINVAL";
      return false;
    }
    Fd self, target;
    self.fd = open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC);
    if (self.fd < 0) return fail("open /proc/thread-self/ns/net", errno);
    std::string path = "/var/run/netns/" + netns;
    target.fd = open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (target.fd < 0) return fail("open " + path, errno);
    if (setns(target.fd, CLONE_NEWNET) != 0) return fail("setns " + path, errno);
    nl_ = mnl_socket_open(NETLINK_NETFILTER);
    int openErr = errno;
    // Back to the original namespace before anything else; a worker thread left in a foreign
    // namespace would silently run later work there, so failing to return is fatal.
    if (setns(self.fd, CLONE_NEWNET) != 0) {
      std::fprintf(stderr, "kpb_nftnl: cannot return to the original network namespace: %s\n",
                   ErrnoText(errno).c_str());
      std::abort();
    }
    if (!nl_) return fail("netlink socket in " + netns, openErr);
  }
  if (mnl_socket_bind(nl_, 0, MNL_SOCKET_AUTOPID) < 0) {
    int err = errno;
    mnl_socket_close(nl_);
    nl_ = nullptr;
    return fail("netlink bind", err);
  }
  return true;
}

void NetnsSocket::Configure(size_t sndbuf, size_t rcvbuf) {
  int fd = mnl_socket_get_fd(nl_);
  int one = 1;
  setsockopt(fd, SOL_NETLINK, NETLINK_CAP_ACK, &one, sizeof one);
  setsockopt(fd, SOL_NETLINK, NETLINK_EXT_ACK, &one, sizeof one);
  auto clampInt = [](size_t v) { return static_cast<int>(v > (1u << 30) ? (1u << 30) : v); };
  if (sndbuf) {
    int v = clampInt(sndbuf);
    if (setsockopt(fd, SOL_SOCKET, SO_SNDBUFFORCE, &v, sizeof v) != 0)
      setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &v, sizeof v);
  }
  if (rcvbuf) {
    int v = clampInt(rcvbuf);
    if (setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &v, sizeof v) != 0)
      setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &v, sizeof v);
  }
}

}  // namespace kpb
