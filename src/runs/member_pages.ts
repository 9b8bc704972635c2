/**
 * A page of a subset's members (`RunService.members`), the query behind `Subset.samples` — the API's
 * hottest read, so it is built for speed:
 * - one prepared statement per shape (order × label filter × cursor), built by drizzle once per database
 *   and reused with placeholders: building the SQL cost as much as running it (≈ 0.35 ms per call);
 * - the page comes back as one row holding a JSON array: row by row, PGlite's wire-protocol parsing cost
 *   twice the query itself (0.56 vs 0.27 ms for 100 rows).
 * Each shape is one range scan of an index (see src/db/schema.ts), given planner statistics: hence
 * the ANALYZE after a subset is stored (`RunService.recordSubset`).
 */
import { and, asc, desc, eq, gt, or, type SQL, sql } from "drizzle-orm";
import type { Db } from "../db/client.ts";
import { type MemberRow, subsetMembers } from "../db/schema.ts";
import { InvalidInputError } from "../errors.ts";
import type { MemberKey, MemberOrder } from "./service.ts";

export interface MemberPageOptions {
  first: number;
  after: MemberKey | null;
  label: number | null;
  orderBy: MemberOrder;
}

type Triple = [index: number, label: number, weight: number];
type Prepared = { execute(params: Record<string, unknown>): Promise<{ rows: string | Triple[] | null }[]> };

const prepared = new WeakMap<Db, Map<string, Prepared>>();

function build(db: Db, orderBy: MemberOrder, byLabel: boolean, after: boolean, name: string): Prepared {
  const m = subsetMembers;
  const ph = sql.placeholder;
  const where: SQL[] = [eq(m.subsetId, ph("subsetId"))];
  if (byLabel) where.push(eq(m.label, ph("label")));
  if (after && orderBy === "INDEX") where.push(gt(m.index, ph("afterIndex")));
  if (after && orderBy === "WEIGHT_DESC") {
    // ::real — compare as stored (float4); the JS number came back through a decimal rendering.
    where.push(
      or(
        sql`${m.weight} < ${ph("afterWeight")}::real`,
        and(sql`${m.weight} = ${ph("afterWeight")}::real`, gt(m.index, ph("afterIndex"))),
      )!,
    );
  }
  const order = orderBy === "INDEX" ? [asc(m.index)] : [desc(m.weight), asc(m.index)];
  const p = db.select().from(m).where(and(...where)).orderBy(...order).limit(ph("limit")).as("p");
  const pOrder = orderBy === "INDEX" ? sql`${p.index}` : sql`${p.weight} desc, ${p.index}`;
  return db.select({
    rows: sql<
      string | Triple[] | null
    >`json_agg(json_build_array(${p.index}, ${p.label}, ${p.weight}) order by ${pOrder})`,
  }).from(p).prepare(name) as unknown as Prepared;
}

/** Up to `first` members after `after`, and whether more follow. */
export async function memberPage(
  db: Db,
  subsetId: number,
  opts: MemberPageOptions,
): Promise<{ rows: MemberRow[]; hasNextPage: boolean }> {
  const a = opts.after;
  if (a && opts.orderBy === "WEIGHT_DESC" && a.weight === undefined) {
    throw new InvalidInputError("this cursor does not belong to a WEIGHT_DESC page");
  }
  const byLabel = opts.label !== null;
  const name = `member_page_${opts.orderBy.toLowerCase()}${byLabel ? "_label" : ""}${a ? "_after" : ""}`;
  let cache = prepared.get(db);
  if (!cache) prepared.set(db, cache = new Map());
  let q = cache.get(name);
  if (!q) cache.set(name, q = build(db, opts.orderBy, byLabel, a !== null, name));
  const [agg] = await q.execute({
    subsetId,
    label: opts.label,
    afterIndex: a?.index,
    afterWeight: a?.weight,
    limit: opts.first + 1,
  });
  const raw: Triple[] = typeof agg.rows === "string" ? JSON.parse(agg.rows) : agg.rows ?? [];
  const rows = raw.slice(0, opts.first).map(([index, label, weight]) => ({ subsetId, index, label, weight }));
  return { rows, hasNextPage: raw.length > opts.first };
}
