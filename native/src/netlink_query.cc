#include "netlink_query.h"

#include <poll.h>
#include <sys/socket.h>

#include <cerrno>
#include <ctime>

#include "common.h"

namespace kpb {

namespace {
constexpr int kReplyTimeoutMs = 5000;
}

Query::Query(NetnsSocket& sock)
    : sock_(sock), req_(MNL_SOCKET_BUFFER_SIZE * 4), rsp_(256u << 10),
      seq_(static_cast<uint32_t>(time(nullptr))) {}

int Query::Run(uint32_t seq, mnl_cb_t cb, void* data) {
  auto* nlh = reinterpret_cast<nlmsghdr*>(req_.data());
  double t0 = NowMs();
  stats_.requests++;
  if (mnl_socket_sendto(sock_.nl(), nlh, nlh->nlmsg_len) < 0) return errno;
  double t1 = NowMs();
  stats_.sendMs += t1 - t0;
  uint32_t portid = sock_.portid();
  double deadline = NowMs() + kReplyTimeoutMs;
  for (long iter = 0; iter < 10'000'000; iter++) {
    // Read first, wait only when nothing is queued: the kernel queues a dump's first part while
    // handling the request and the next one while handling the previous recv.
    double r0 = NowMs();
    ssize_t n = recv(sock_.fd(), rsp_.data(), rsp_.size(), MSG_DONTWAIT);
    double r1 = NowMs();
    stats_.recvMs += r1 - r0;
    if (n < 0) {
      if (errno == EINTR) continue;
      if (errno != EAGAIN) return errno;
      double left = deadline - NowMs();
      if (left <= 0) return ETIMEDOUT;
      pollfd p{sock_.fd(), POLLIN, 0};
      double w0 = NowMs();
      int pr = poll(&p, 1, int(left) + 1);
      stats_.waitMs += NowMs() - w0;
      if (pr < 0 && errno == EINTR) continue;
      if (pr <= 0) return pr == 0 ? ETIMEDOUT : errno;
      continue;
    }
    stats_.parts++;
    int ret = mnl_cb_run(rsp_.data(), size_t(n), seq, portid, cb, data);
    stats_.parseMs += NowMs() - r1;
    if (ret < 0) return errno ? errno : EPROTO;
    if (ret == MNL_CB_STOP) return 0;
    deadline = NowMs() + kReplyTimeoutMs;  // progress: restart the idle timer
  }
  return ETIMEDOUT;
}

}  // namespace kpb
