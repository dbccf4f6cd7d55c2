// Parsing of netlink acknowledgements (NLMSG_ERROR), including extended-ack TLVs.
#pragma once

#include <linux/netlink.h>

#include <cstdint>
#include <string>

namespace kpb {

struct Ack {
  uint32_t seq = 0;
  int error = 0;            // positive errno, 0 for a success ack
  std::string extackMsg;    // NLMSGERR_ATTR_MSG
  int64_t badAttrOffset = -1;  // NLMSGERR_ATTR_OFFS
};

// Parses one NLMSG_ERROR message. Returns false when it is truncated.
bool ParseAck(const nlmsghdr* nlh, Ack& ack);

}  // namespace kpb
