#include "apply_batch.h"

#include <libmnl/libmnl.h>
#include <libnftnl/batch.h>
#include <linux/netlink.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/uio.h>

#include <climits>
#include <ctime>
#include <vector>

#include "batch_decoder.h"
#include "common.h"
#include "js_util.h"
#include "netlink_acks.h"
#include "netns_socket.h"

namespace kpb {

namespace {

constexpr int kAckWaitMs = 2000;
constexpr size_t kRecvBufSize = 256u << 10;
constexpr size_t kRcvBuf = 16u << 20;

class ApplyBatchWorker : public Napi::AsyncWorker {
 public:
  // The op stream is read in place on the worker thread, not copied (at 100k services it is
  // hundreds of MB): the reference keeps the JS array alive until the worker is deleted (on the
  // JS thread, after OnOK/OnError), and the caller does not change it meanwhile.
  ApplyBatchWorker(Napi::Env env, std::string netns, Napi::Uint8Array batch, uint32_t genid)
      : Napi::AsyncWorker(env), deferred_(Napi::Promise::Deferred::New(env)),
        netns_(std::move(netns)), batchRef_(Napi::Persistent(batch)), data_(batch.Data()),
        len_(batch.ByteLength()), genid_(genid) {}

  Napi::Promise Promise() { return deferred_.Promise(); }

  void Execute() override {
    double t0 = NowMs();
    BuiltBatch built;
    std::string err;
    uint32_t baseSeq = static_cast<uint32_t>(time(nullptr));
    if (!DecodeAndBuild(data_, len_, baseSeq, built, err, genid_)) {
      fail_.failed = true;
      fail_.message = err;
      fail_.errnoName = "EINVAL";
      return;
    }
    buildMs_ = NowMs() - t0;
    messages_ = built.msgs.size();
    bytes_ = built.bytes;
    if (built.opCount == 0) return;  // nothing to send

    double t1 = NowMs();
    Send(built);
    sendMs_ = NowMs() - t1;
  }

  void OnOK() override {
    Napi::Env env = Env();
    if (fail_.failed) {
      deferred_.Reject(MakeFailureError(env, fail_));
      return;
    }
    Napi::Object o = Napi::Object::New(env);
    o.Set("messages", Napi::Number::New(env, double(messages_)));
    o.Set("bytes", Napi::Number::New(env, double(bytes_)));
    o.Set("sendMs", Napi::Number::New(env, sendMs_));
    o.Set("buildMs", Napi::Number::New(env, buildMs_));
    deferred_.Resolve(o);
  }

  void OnError(const Napi::Error& e) override { deferred_.Reject(e.Value()); }

 private:
  void Fail(const std::string& msg, int errnum, const std::string& label = std::string()) {
    fail_.failed = true;
    fail_.message = msg;
    fail_.errnoName = errnum ? ErrnoName(errnum) : "EPROTO";
    fail_.label = label;
  }

  void Send(const BuiltBatch& built) {
    NetnsSocket sock;
    std::string err, errName;
    if (!sock.Open(netns_, err, errName)) {
      fail_.failed = true;
      fail_.message = "netlink: " + err;
      fail_.errnoName = errName;
      return;
    }
    sock.Configure(built.bytes + (1u << 20), kRcvBuf);

    int n = nftnl_batch_iovec_len(built.batch);
    if (n > IOV_MAX) return Fail("netlink: batch has too many pages", E2BIG);
    std::vector<iovec> iov(n);
    nftnl_batch_iovec(built.batch, iov.data(), n);
    sockaddr_nl snl{};
    snl.nl_family = AF_NETLINK;
    msghdr msg{};
    msg.msg_name = &snl;
    msg.msg_namelen = sizeof snl;
    msg.msg_iov = iov.data();
    msg.msg_iovlen = n;
    // The whole batch must reach the kernel in one sendmsg: nfnetlink processes one skb, and a
    // batch without its END message is aborted.
    ssize_t sent;
    int guard = 0;
    do {
      sent = sendmsg(sock.fd(), &msg, 0);
    } while (sent < 0 && errno == EINTR && ++guard < 100);
    if (sent < 0) {
      int e = errno;
      return Fail("netlink: sending the batch (" + std::to_string(built.bytes) + " bytes) failed: " +
                      ErrnoText(e) + " (" + ErrnoName(e) + ")",
                  e);
    }
    if (size_t(sent) != built.bytes)
      return Fail("netlink: short send (" + std::to_string(sent) + " of " +
                      std::to_string(built.bytes) + " bytes)",
                  EIO);
    ReadAcks(sock, built);
  }

  void ReadAcks(NetnsSocket& sock, const BuiltBatch& built) {
    const uint32_t beginSeq = built.baseSeq;
    const uint32_t endSeq = built.baseSeq + uint32_t(built.msgs.size() - 1);
    const uint32_t lastSeq = endSeq - 1;
    bool beginAck = false, endAck = false, lastAck = false, overflow = false, truncated = false;
    bool haveError = false;
    Ack first;
    size_t errorCount = 0;
    std::vector<uint8_t> buf(kRecvBufSize);
    double deadline = NowMs() + kAckWaitMs;
    uint32_t portid = sock.portid();

    for (long iter = 0; iter < 10'000'000; iter++) {
      ssize_t len = recv(sock.fd(), buf.data(), buf.size(), MSG_DONTWAIT);
      if (len < 0) {
        int e = errno;
        if (e == EINTR) continue;
        if (e == ENOBUFS) {
          overflow = true;
          continue;
        }
        if (e != EAGAIN && e != EWOULDBLOCK)
          return Fail("netlink: reading acknowledgements failed: " + ErrnoText(e), e);
        if (endAck || haveError || (lastAck && !beginAck)) break;
        double left = deadline - NowMs();
        if (left <= 0) break;
        pollfd p{sock.fd(), POLLIN, 0};
        poll(&p, 1, int(left < 50 ? left + 1 : 50));
        continue;
      }
      int remaining = int(len);
      const nlmsghdr* nlh = reinterpret_cast<const nlmsghdr*>(buf.data());
      while (mnl_nlmsg_ok(nlh, remaining)) {
        if (nlh->nlmsg_pid == portid && nlh->nlmsg_type == NLMSG_ERROR) {
          Ack ack;
          if (!ParseAck(nlh, ack)) {
            truncated = true;
          } else if (ack.error != 0) {
            errorCount++;
            // First error = the lowest sequence number in this batch.
            if (!haveError || ack.seq - beginSeq < first.seq - beginSeq) first = ack;
            haveError = true;
          } else {
            if (ack.seq == beginSeq) beginAck = true;
            if (ack.seq == endSeq) endAck = true;
            if (ack.seq == lastSeq) lastAck = true;
          }
        }
        nlh = mnl_nlmsg_next(nlh, &remaining);
      }
      if (remaining > 0) truncated = true;
    }

    if (haveError && genid_ && first.seq == beginSeq && first.error == ERESTART) {
      return Fail("netlink: the ruleset generation is no longer " + std::to_string(genid_) +
                      ", the generation the batch was bound to: another writer committed in "
                      "between (ERESTART); the batch was not applied",
                  ERESTART, built.LabelForSeq(beginSeq));
    }
    if (haveError) {
      std::string label = built.LabelForSeq(first.seq);
      std::string m = "netlink: " + ErrnoText(first.error) + " (" + ErrnoName(first.error) +
                      ") at " + label;
      if (!first.extackMsg.empty()) m += ": " + first.extackMsg;
      if (first.badAttrOffset >= 0)
        m += " [bad attribute at offset " + std::to_string(first.badAttrOffset) + "]";
      if (errorCount > 1) m += " (+" + std::to_string(errorCount - 1) + " more errors)";
      if (overflow) m += " (some acknowledgements were lost: ENOBUFS)";
      m += "; the batch was not applied";
      return Fail(m, first.error, label);
    }
    if (endAck) return;
    if (!beginAck && lastAck) return;  // kernel < 6.10: no begin/end acks, last message acked
    std::string why = overflow ? " (receive buffer overflow: ENOBUFS)"
                               : truncated ? " (truncated acknowledgement)" : "";
    Fail("netlink: no acknowledgement for the batch end" + why +
             "; the outcome is unknown, treat the batch as failed",
         overflow ? ENOBUFS : EPROTO, "batch end");
  }

  Napi::Promise::Deferred deferred_;
  std::string netns_;
  Napi::Reference<Napi::Uint8Array> batchRef_;
  const uint8_t* data_;
  size_t len_;
  uint32_t genid_;  // 0: not bound to a generation
  OpFailure fail_;
  double buildMs_ = 0, sendMs_ = 0;
  size_t messages_ = 0, bytes_ = 0;
};

// The generation of `applyBatch(netns, batch, { generation })`; 0 when none is given.
uint32_t GenerationOption(const Napi::CallbackInfo& info, size_t i) {
  Napi::Env env = info.Env();
  if (info.Length() <= i || info[i].IsUndefined()) return 0;
  if (!info[i].IsObject()) throw Napi::TypeError::New(env, "applyBatch: options must be an object");
  Napi::Value g = info[i].As<Napi::Object>().Get("generation");
  if (g.IsUndefined()) return 0;
  // The kernel never uses generation 0 (it means "not bound"), so it is refused here.
  double d = g.IsNumber() ? g.As<Napi::Number>().DoubleValue() : 0;
  if (!(d >= 1 && d <= 4294967295.0 && d == double(uint32_t(d))))
    throw Napi::TypeError::New(env, "applyBatch: generation must be an integer from 1 to 4294967295");
  return uint32_t(d);
}

}  // namespace

Napi::Value ApplyBatch(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() < 2)
    throw Napi::TypeError::New(env, "applyBatch(netns, batch, options?): expected 2 or 3 arguments");
  std::string netns = NetnsArg(info, 0, "applyBatch");
  if (!info[1].IsTypedArray() && !info[1].IsBuffer())
    throw Napi::TypeError::New(env, "applyBatch: batch must be a Buffer/Uint8Array");
  Napi::Uint8Array arr = info[1].As<Napi::Uint8Array>();
  if (arr.TypedArrayType() != napi_uint8_array)
    throw Napi::TypeError::New(env, "applyBatch: batch must be a Buffer/Uint8Array");
  uint32_t genid = GenerationOption(info, 2);
  auto* w = new ApplyBatchWorker(env, std::move(netns), arr, genid);
  Napi::Promise p = w->Promise();
  w->Queue();
  return p;
}

}  // namespace kpb
