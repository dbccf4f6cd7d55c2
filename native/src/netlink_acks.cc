#include "netlink_acks.h"

#include <cstring>

namespace kpb {

bool ParseAck(const nlmsghdr* nlh, Ack& ack) {
  if (nlh->nlmsg_len < NLMSG_LENGTH(sizeof(nlmsgerr))) return false;
  const auto* err = static_cast<const nlmsgerr*>(NLMSG_DATA(nlh));
  ack.seq = nlh->nlmsg_seq;
  ack.error = -err->error;
  if (!(nlh->nlmsg_flags & NLM_F_ACK_TLVS)) return true;
  size_t off = sizeof(nlmsgerr);
  // Without NLM_F_CAPPED the original message's payload follows the header copy.
  if (!(nlh->nlmsg_flags & NLM_F_CAPPED) && err->msg.nlmsg_len > NLMSG_HDRLEN)
    off += NLMSG_ALIGN(err->msg.nlmsg_len - NLMSG_HDRLEN);
  const auto* base = static_cast<const uint8_t*>(NLMSG_DATA(nlh));
  size_t total = nlh->nlmsg_len - NLMSG_HDRLEN;
  for (int guard = 0; off + sizeof(nlattr) <= total && guard < 64; guard++) {
    nlattr a;
    std::memcpy(&a, base + off, sizeof a);
    if (a.nla_len < sizeof(nlattr) || off + a.nla_len > total) break;
    const uint8_t* payload = base + off + NLA_HDRLEN;
    size_t plen = a.nla_len - NLA_HDRLEN;
    switch (a.nla_type & NLA_TYPE_MASK) {
      case NLMSGERR_ATTR_MSG:
        ack.extackMsg.assign(reinterpret_cast<const char*>(payload), strnlen(reinterpret_cast<const char*>(payload), plen));
        break;
      case NLMSGERR_ATTR_OFFS:
        if (plen >= 4) {
          uint32_t v;
          std::memcpy(&v, payload, 4);
          ack.badAttrOffset = v;
        }
        break;
      default:
        break;
    }
    off += NLA_ALIGN(a.nla_len);
  }
  return true;
}

}  // namespace kpb
