/** The Pothos schema builder and the GraphQL context. Defines no types: see src/api/schema/. */
import SchemaBuilder from "@pothos/core";
import type { DatasetStore } from "../data/store.ts";
import type { RunService } from "../runs/service.ts";
import type { Loaders } from "./loaders.ts";

/** What every resolver gets. */
export interface Ctx {
  service: RunService;
  store: DatasetStore;
  /** Fires when the server shuts down: live subscriptions end. */
  shutdown: AbortSignal;
  log: (msg: string) => void;
  /** Batch loaders, fresh for each request or subscription (src/api/loaders.ts). */
  loaders: Loaders;
}

export const builder = new SchemaBuilder<{
  Context: Ctx;
  Scalars: {
    DateTime: { Input: Date; Output: Date };
    JSON: { Input: unknown; Output: unknown };
  };
  DefaultFieldNullability: false;
}>({ defaultFieldNullability: false });
