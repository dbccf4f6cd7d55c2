// getGeneration(netns: string | null): Promise<number> — NFT_MSG_GETGEN.
#pragma once

#include <napi.h>

#include <cstdint>
#include <string>

#include "netns_socket.h"

namespace kpb {

Napi::Value GetGeneration(const Napi::CallbackInfo& info);

// Worker-thread helper shared with listing: returns 0 or a positive errno.
int QueryGeneration(NetnsSocket& sock, uint32_t& gen);

}  // namespace kpb
