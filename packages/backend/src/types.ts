/**
 * The one small interface every kpb backend implements.
 */
import type { IPFamily } from '@kpb/model';
import type { Plans } from './families.ts';

/** Where rules go: a named network namespace, or (only when explicitly asked) the host. */
export type Target =
  | { readonly kind: 'netns'; readonly name: string }
  | { readonly kind: 'host' };

/** Time spent in each stage of an apply or sync, in milliseconds. */
export interface StageTimings {
  /** Building the backend's output (text or batch) from the plan. */
  readonly render: number;
  /** Handing it to the kernel (tool run or netlink batch), including the tool's own parsing. */
  readonly kernel: number;
  /** Anything else the backend did (reading current state, drift check…), if measured. */
  readonly other?: number;
}

export interface ApplyResult {
  readonly timings: StageTimings;
  /**
   * Size of what was sent: lines of text or netlink messages, and its bytes (the text given to
   * the tool, or the netlink batch) where the backend measures them (full applies).
   */
  readonly size: { readonly unit: 'lines' | 'messages'; readonly count: number; readonly bytes?: number };
  /** Each family's part, when more than one family was sent (dual-stack). */
  readonly families?: readonly FamilyPart[];
}

/** A family's share of a multi-family apply or sync (when more than one family was sent). */
export interface FamilyPart {
  readonly family: IPFamily;
  /** Building this family's text or batch from its plan, ms. */
  readonly render: number;
  /** Lines or messages of this family. */
  readonly count: number;
  /** Sync only: how this family was synced, and why a full apply when it was. */
  readonly mode?: 'incremental' | 'full';
  readonly reason?: string;
}

export interface SyncResult extends ApplyResult {
  /** 'incremental': only changes were sent; 'full': a full apply was done. */
  readonly mode: 'incremental' | 'full';
  /** Why a full apply was done instead (drift detected, settings changed, ...). */
  readonly reason?: string;
  /** Service port keys whose objects were sent. */
  readonly changedServicePorts: readonly string[];
}

/** One difference between what the kernel holds and what the plan wants. */
export interface Difference {
  /** 'missing': wanted, not in kernel; 'unexpected': in kernel, not wanted; 'changed': both, differ. */
  readonly kind: 'missing' | 'unexpected' | 'changed';
  /** The object, readable: `nat chain KUBE-SVC-…`, `map service-ips element 10.0.0.1 . tcp . 80`. */
  readonly object: string;
  /** Details: the wanted and found text where helpful. */
  readonly detail?: string;
  /** The IP family of the object, when more than one family was compared (dual-stack). */
  readonly family?: IPFamily;
}

export interface VerifyResult {
  readonly ok: boolean;
  readonly differences: readonly Difference[];
}

/** A packet for the in-memory tracer. */
export interface TracePacket {
  /** Source address. */
  readonly src: string;
  readonly protocol: 'TCP' | 'UDP' | 'SCTP';
  readonly dst: string;
  readonly dport: number;
  /**
   * Where the packet enters the node's rules: 'forward' for traffic arriving from another host
   * or a pod (PREROUTING), 'local' for traffic the node itself sends (OUTPUT).
   */
  readonly origin: 'forward' | 'local';
}

/** What the rules may do with a packet. */
export type TraceVerdict =
  /** DNAT to one of these endpoints (`ip:port`), each reachable with some probability. */
  | { readonly kind: 'endpoints'; readonly endpoints: readonly string[]; readonly masquerade: boolean }
  /** Rejected (ICMP unreachable / TCP reset). */
  | { readonly kind: 'rejected' }
  /** Silently dropped. */
  | { readonly kind: 'dropped' }
  /** The rules do not touch it (not a service address). */
  | { readonly kind: 'untouched' };

export interface TraceResult {
  readonly verdict: TraceVerdict;
  /** The rules or chains the packet went through, readable, for failure messages. */
  readonly path: readonly string[];
  /**
   * What a trace of a target's rules (`traceTarget`) did not follow and that may also act on the
   * packet: rules and tables kpb did not write, each named. Absent when there is nothing to say.
   */
  readonly notes?: readonly string[];
}

export interface Backend {
  /** 'iptables', 'nft' or 'nftnl'. */
  readonly name: string;
  /** Variant or layout in use, for reports ('nft', 'legacy', 'flat', 'kube-proxy'). */
  readonly variant: string;
  /**
   * The text that `kpb compile` prints: iptables-restore input, an nft script, ... With plans of
   * both families: both, IPv4 first (iptables: the ip6tables-restore input after a comment line).
   */
  renderText(plans: Plans): string;
  /**
   * Load the plans, replacing whatever kpb owned before in their families (other families are
   * left as they are). nft, nftnl: one atomic transaction for all families; iptables: one
   * atomic restore per family, IPv4 first.
   */
  apply(target: Target, plans: Plans): Promise<ApplyResult>;
  /**
   * Bring the kernel from `from` to `to`, sending only what changed. If the kernel does not hold
   * `from` (drift), or nothing is known, falls back to a full apply of `to` and says why. Each
   * family is synced on its own (its own transaction); families only `from` has are removed.
   */
  sync(target: Target, from: Plans | undefined, to: Plans): Promise<SyncResult>;
  /** What kpb owns in the kernel now, as canonical text (for diffs and equality tests). */
  readBack(target: Target): Promise<string>;
  /** Compare the kernel with the plans (each family's objects with its plan). */
  verify(target: Target, plans: Plans): Promise<VerifyResult>;
  /** Remove everything kpb owns in `families` (default: both), and nothing else. */
  flush(target: Target, families?: readonly IPFamily[]): Promise<void>;
  /** Walk a packet through the rendered rules of its family's plan, in memory. */
  trace(plans: Plans, packet: TracePacket): TraceResult;
  /**
   * Walk a packet through the rules `target` holds now, read back (nothing is changed), with the
   * target's own local addresses, by the same tracer as `trace`. Throws, saying so, when the
   * target holds no kpb rules for the packet's family, or kpb rules it cannot read or follow.
   */
  traceTarget(target: Target, packet: TracePacket): Promise<TraceResult>;
}
