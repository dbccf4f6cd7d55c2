// listRuleset(netns: string | null, family: 'ip' | 'ip6' | 'inet', table: string): Promise<RawListing>
// Everything one table holds, parsed with libnftnl. Expression attributes are returned raw
// ({ [attrId]: hex of libnftnl's value }); lib/listing.ts names and decodes them.
#pragma once

#include <napi.h>

namespace kpb {

Napi::Value ListRuleset(const Napi::CallbackInfo& info);

}  // namespace kpb
