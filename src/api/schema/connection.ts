/**
 * Relay connections (forward pagination: first/after). `pageArgs` validates the page size against
 * MAX_PAGE_SIZE; `connectionType` makes a `<Name>Connection` and `<Name>Edge` for a node type.
 */
import type { ObjectRef } from "@pothos/core";
import { InvalidInputError } from "../../errors.ts";
import { builder } from "../builder.ts";

/** Largest `first` a connection accepts. */
export const MAX_PAGE_SIZE = 500;
export const DEFAULT_PAGE_SIZE = 50;

export interface PageInfoShape {
  hasNextPage: boolean;
  hasPreviousPage: boolean;
  startCursor: string | null;
  endCursor: string | null;
}

export interface ConnectionShape<T> {
  edges: { cursor: string; node: T }[];
  pageInfo: PageInfoShape;
  totalCount?: () => Promise<number>;
}

export const PageInfoRef = builder.objectRef<PageInfoShape>("PageInfo").implement({
  fields: (t) => ({
    hasNextPage: t.exposeBoolean("hasNextPage"),
    hasPreviousPage: t.exposeBoolean("hasPreviousPage"),
    startCursor: t.exposeString("startCursor", { nullable: true }),
    endCursor: t.exposeString("endCursor", { nullable: true }),
  }),
});

/** The page size asked for, checked. */
export function pageSize(first: number | null | undefined): number {
  const n = first ?? DEFAULT_PAGE_SIZE;
  if (!Number.isInteger(n) || n < 0 || n > MAX_PAGE_SIZE) {
    throw new InvalidInputError(`first must be between 0 and ${MAX_PAGE_SIZE}, got ${n}`);
  }
  return n;
}

/** Builds a connection from a page of rows. */
export function toConnection<R, T = R>(
  page: { rows: R[]; hasNextPage: boolean },
  cursorOf: (row: R) => string,
  hasPreviousPage: boolean,
  totalCount?: () => Promise<number>,
  nodeOf: (row: R) => T = (r) => r as unknown as T,
): ConnectionShape<T> {
  const edges = page.rows.map((r) => ({ cursor: cursorOf(r), node: nodeOf(r) }));
  return {
    edges,
    pageInfo: {
      hasNextPage: page.hasNextPage,
      hasPreviousPage,
      startCursor: edges[0]?.cursor ?? null,
      endCursor: edges.at(-1)?.cursor ?? null,
    },
    totalCount,
  };
}

export function connectionType<T>(
  name: string,
  node: ObjectRef<Types, T>,
  opts: { totalCount?: boolean } = {},
) {
  const edge = builder.objectRef<{ cursor: string; node: T }>(`${name}Edge`).implement({
    fields: (t) => ({
      cursor: t.exposeString("cursor"),
      node: t.field({ type: node, resolve: (e) => e.node as never }),
    }),
  });
  return builder.objectRef<ConnectionShape<T>>(`${name}Connection`).implement({
    fields: (t) => ({
      edges: t.field({ type: [edge], resolve: (c) => c.edges }),
      pageInfo: t.field({ type: PageInfoRef, resolve: (c) => c.pageInfo }),
      ...(opts.totalCount
        ? {
          totalCount: t.int({
            description: "Items in the whole connection.",
            resolve: (c) => c.totalCount!(),
          }),
        }
        : {}),
    }),
  });
}

type Types = typeof builder extends PothosSchemaTypes.SchemaBuilder<infer S> ? S : never;
