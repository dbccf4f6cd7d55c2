// @kpb/native: nftables objects built with libnftnl and sent as one netlink batch; listing.
// The addon (build/Release/kpb_nftnl.node) is loaded lazily, so BatchBuilder and the
// constants work without it.
import { createRequire } from 'node:module';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { decodeListing, EXPR_SCHEMA } from './lib/listing.ts';
import type { Listing, RawListing } from './lib/listing.ts';
import type { Family } from './lib/constants.ts';

export * from './lib/constants.ts';
export * from './lib/batch.ts';
export type * from './lib/listing.ts';
/** The expression attribute schema the addon's listRuleset decodes by (its fourth argument). */
export { EXPR_SCHEMA } from './lib/listing.ts';

export interface ApplyResult {
  /** Netlink messages sent, including batch begin and end. */
  messages: number;
  /** Bytes of the netlink batch. */
  bytes: number;
  /** Time to send and read all acknowledgements (the kernel applies the batch meanwhile). */
  sendMs: number;
  /** Time to decode the op stream and build the messages with libnftnl. */
  buildMs: number;
}

export interface ApplyOptions {
  /**
   * Bind the batch to this ruleset generation (from `getGeneration`): the kernel refuses the
   * whole batch, with errno 'ERESTART', when another commit has moved the generation since.
   */
  generation?: number;
}

/** Error of a rejected batch: `errno` is the code ('ENOENT'), `label` names the op. */
export interface NetlinkError extends Error {
  errno?: string;
  label?: string;
}

interface NativeAddon {
  applyBatch(netns: string | null, batch: Uint8Array, options?: ApplyOptions): Promise<ApplyResult>;
  getGeneration(netns: string | null): Promise<number>;
  /** The listing as JSON text (one JSON.parse is much faster than building it through N-API). */
  listRuleset(netns: string | null, family: Family, table: string, schema: typeof EXPR_SCHEMA, options?: { ruleText: boolean; dynamicElements: boolean }): Promise<string>;
  constants: Record<string, number>;
}

export const ADDON_PATH = fileURLToPath(new URL('./build/Release/kpb_nftnl.node', import.meta.url));

let addon: NativeAddon | undefined;

/** Loads the addon (once); throws one clear message when it is missing or cannot load. */
function loadNative(): NativeAddon {
  if (addon) return addon;
  const require = createRequire(import.meta.url);
  try {
    addon = require(ADDON_PATH) as NativeAddon;
    return addon;
  } catch (e) {
    const what = existsSync(ADDON_PATH)
      ? `the native addon ${ADDON_PATH} exists but cannot be loaded (${(e as Error).message.split('\n')[0]})`
      : `the native addon ${ADDON_PATH} has not been built`;
    throw new Error(
      `@kpb/native: ${what}. Install the build dependencies ` +
        '(apt-get install libnftnl-dev libmnl-dev pkg-config g++ make python3), then run ' +
        '`npm rebuild @kpb/native` at the repository root or `npx node-gyp rebuild` in native/.',
      { cause: e },
    );
  }
}

/** True when the addon can be loaded. */
export function nativeAvailable(): boolean {
  try {
    loadNative();
    return true;
  } catch {
    return false;
  }
}

/**
 * Sends the op stream built by BatchBuilder as ONE netlink batch in network namespace `netns`
 * (a name under /var/run/netns; null = the current namespace). Atomic: on any error nothing
 * changes and the promise rejects with a NetlinkError naming the op (errno 'ERESTART' when
 * the batch was bound to a generation that has moved). The addon reads `batch` in place on its
 * thread (no copy): do not change it until the promise settles.
 */
export function applyBatch(netns: string | null, batch: Uint8Array, options?: ApplyOptions): Promise<ApplyResult> {
  return loadNative().applyBatch(netns, batch, options);
}

/** The ruleset generation (NFT_MSG_GETGEN); changes with every committed batch. */
export function getGeneration(netns: string | null): Promise<number> {
  return loadNative().getGeneration(netns);
}

export interface ListOptions {
  /**
   * Each rule's `text`, libnftnl's rendering (default true). Without it the listing is about
   * 40 % smaller and faster to read; rules then have no `text`.
   */
  ruleText?: boolean;
  /**
   * The elements of sets the data path fills (`dynamic`, NFT_SET_EVAL; not maps), e.g. the
   * session-affinity sets (default true). Without them such a set has `elements: []` and
   * `elementsListed: false`, and costs no element dump.
   */
  dynamicElements?: boolean;
  /** The addon's `stats` (where its time went) on the listing (default false). */
  stats?: boolean;
}

/** Everything one table holds. A missing table gives `{ exists: false, … }`. */
export function listRuleset(netns: string | null, family: Family, table: string, options: ListOptions = {}): Promise<Listing> {
  return loadNative()
    .listRuleset(netns, family, table, EXPR_SCHEMA, { ruleText: options.ruleText ?? true, dynamicElements: options.dynamicElements ?? true })
    .then((json) => {
      const raw = JSON.parse(json) as RawListing;
      if (!options.stats) delete raw.stats;
      return decodeListing(raw);
    });
}

/** Constants compiled from the installed headers ({ NFTNL_EXPR_PAYLOAD_DREG: 1, … }). */
export function nativeConstants(): Record<string, number> {
  return loadNative().constants;
}
