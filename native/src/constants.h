// constants(): { NAME: value } for the libnftnl / nf_tables constants the TS side uses.
#pragma once

#include <napi.h>

namespace kpb {

Napi::Object Constants(Napi::Env env);

}  // namespace kpb
