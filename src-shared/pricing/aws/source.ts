// Live price book from AWS: refreshes On-Demand (12 h) and Spot (1 h) on a schedule, caches to disk, keeps the last good prices on failure.
import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from "node:fs";
import { dirname } from "node:path";
import type { EC2Client } from "@aws-sdk/client-ec2";
import type { PricingClient } from "@aws-sdk/client-pricing";
import { withDerivedSpotPrices, type InstanceShape, type Price, type PriceBook, type SpotAdvice } from "../types.js";
import { describeInstanceShapes, describeLatestSpotPrices } from "./ec2.js";
import { getOnDemandPrices } from "./pricing-api.js";
import type { RetryOptions } from "./retry.js";

export const ON_DEMAND_REFRESH_MS = 12 * 60 * 60 * 1000;
export const SPOT_REFRESH_MS = 60 * 60 * 1000;

export interface AwsPriceBookSourceOptions {
  region: string;
  ec2: EC2Client;
  /** client for the Pricing endpoint region (see pricingEndpointRegion) */
  pricing: PricingClient;
  onDemandRefreshMs?: number;
  spotRefreshMs?: number;
  /** Spot advisor data (savings %, interruption bucket), if known */
  advice?: Map<string, SpotAdvice>;
  /** JSON file where the last good prices are kept across restarts */
  cacheFile?: string;
  retry?: RetryOptions;
  now?: () => Date;
}

interface State {
  shapes?: Map<string, InstanceShape>;
  onDemand?: Map<string, Price>;
  onDemandAt?: number;
  spot?: Map<string, Map<string, Price>>;
  spotAt?: number;
}

export interface RefreshError {
  part: "on-demand" | "spot";
  message: string;
  at: string;
}

type CacheJson = {
  shapes: Array<[string, InstanceShape]>;
  onDemand: Array<[string, Price]>;
  onDemandAt: number;
  spot: Array<[string, Array<[string, Price]>]>;
  spotAt: number;
};

export class AwsPriceBookSource {
  private state: State = {};
  private timer: NodeJS.Timeout | undefined;
  lastError: RefreshError | undefined;

  constructor(private readonly opts: AwsPriceBookSourceOptions) {
    this.loadCache();
  }

  private now(): Date {
    return (this.opts.now ?? ((): Date => new Date()))();
  }

  /** The current price book, or undefined until the first successful refresh of both parts (or a cache). */
  current(): PriceBook | undefined {
    const { shapes, onDemand, spot } = this.state;
    if (!shapes || !onDemand || !spot) return undefined;
    const zones = [...new Set([...spot.values()].flatMap((m) => [...m.keys()]))].sort();
    return withDerivedSpotPrices({
      region: this.opts.region,
      zones: zones.length > 0 ? zones : [`${this.opts.region}-any`],
      instanceTypes: shapes,
      onDemand,
      spot,
      advice: this.opts.advice ?? new Map(),
    });
  }

  /** Shapes and On-Demand prices; on failure keeps what it had and records the error. */
  async refreshOnDemand(): Promise<boolean> {
    const now = this.now();
    try {
      const [shapes, onDemand] = await Promise.all([
        describeInstanceShapes(this.opts.ec2, this.opts.retry),
        getOnDemandPrices(this.opts.pricing, this.opts.region, now, this.opts.retry),
      ]);
      if (shapes.size === 0 || onDemand.size === 0)
        throw new Error(`empty answer (${shapes.size} shapes, ${onDemand.size} prices)`);
      this.state = { ...this.state, shapes, onDemand, onDemandAt: now.getTime() };
      this.saveCache();
      return true;
    } catch (err) {
      this.lastError = { part: "on-demand", message: (err as Error).message, at: now.toISOString() };
      return false;
    }
  }

  /** Latest Spot prices; on failure keeps what it had and records the error. */
  async refreshSpot(): Promise<boolean> {
    const now = this.now();
    try {
      const spot = await describeLatestSpotPrices(this.opts.ec2, now, this.opts.retry);
      if (spot.size === 0) throw new Error("empty Spot price history");
      this.state = { ...this.state, spot, spotAt: now.getTime() };
      this.saveCache();
      return true;
    } catch (err) {
      this.lastError = { part: "spot", message: (err as Error).message, at: now.toISOString() };
      return false;
    }
  }

  /** Refreshes each part whose age has reached its interval (or that was never loaded). */
  async refreshDue(): Promise<void> {
    const t = this.now().getTime();
    const odDue =
      this.state.onDemandAt === undefined ||
      t - this.state.onDemandAt >= (this.opts.onDemandRefreshMs ?? ON_DEMAND_REFRESH_MS);
    const spotDue =
      this.state.spotAt === undefined || t - this.state.spotAt >= (this.opts.spotRefreshMs ?? SPOT_REFRESH_MS);
    if (odDue) await this.refreshOnDemand();
    if (spotDue) await this.refreshSpot();
  }

  /** Checks every minute what is due; the timer does not keep the process alive. */
  start(checkEveryMs = 60_000): void {
    const tick = (): void => {
      void this.refreshDue().finally(() => {
        if (this.timer) this.timer = setTimeout(tick, checkEveryMs).unref();
      });
    };
    this.timer = setTimeout(tick, 0).unref();
  }

  stop(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
  }

  private saveCache(): void {
    const file = this.opts.cacheFile;
    const { shapes, onDemand, spot, onDemandAt, spotAt } = this.state;
    if (!file || !shapes || !onDemand || !spot) return;
    const json: CacheJson = {
      shapes: [...shapes],
      onDemand: [...onDemand],
      onDemandAt: onDemandAt ?? 0,
      spot: [...spot].map(([t, m]) => [t, [...m]]),
      spotAt: spotAt ?? 0,
    };
    mkdirSync(dirname(file), { recursive: true });
    writeFileSync(`${file}.tmp`, JSON.stringify(json));
    renameSync(`${file}.tmp`, file);
  }

  private loadCache(): void {
    const file = this.opts.cacheFile;
    if (!file || !existsSync(file)) return;
    try {
      const json = JSON.parse(readFileSync(file, "utf8")) as CacheJson;
      this.state = {
        shapes: new Map(json.shapes),
        onDemand: new Map(json.onDemand),
        onDemandAt: json.onDemandAt,
        spot: new Map(json.spot.map(([t, m]) => [t, new Map(m)])),
        spotAt: json.spotAt,
      };
    } catch {
      // A damaged cache is only a missed head start: the first refresh rebuilds it.
      this.state = {};
    }
  }
}
