/**
 * Request limits and error codes.
 * - `limitsPlugin`: a validation rule rejecting operations nested deeper than `maxDepth` or whose
 *   estimated cost exceeds `maxCost`. Cost: every field costs 1, times the page sizes (`first`) of
 *   the connections it sits in; a `first` given by a variable counts as MAX_PAGE_SIZE, a missing one
 *   as the default page size; `epochs` and `subsets` lists count as 100 and 20.
 * - `maskError`: every error leaves with `extensions.code` — a GradsiftError's own code, client
 *   errors of GraphQL itself keep theirs (or get BAD_USER_INPUT), anything else is INTERNAL with a
 *   generic message (yoga logs the original).
 */
import {
  type ASTVisitor,
  type FragmentDefinitionNode,
  GraphQLError,
  Kind,
  type SelectionSetNode,
  type ValidationContext,
} from "graphql";
import type { Plugin } from "graphql-yoga";
import { GradsiftError } from "../errors.ts";
import { DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE } from "./schema/connection.ts";

export interface Limits {
  maxDepth: number;
  maxCost: number;
}

export const DEFAULT_LIMITS: Limits = { maxDepth: 12, maxCost: 100_000 };

/** Connection fields (paged by `first`) and plain list fields with their typical length. */
const CONNECTIONS = new Set(["datasets", "runs", "samples"]);
const LISTS: Record<string, number> = { epochs: 100, subsets: 20 };

function measure(
  set: SelectionSetNode,
  fragments: Record<string, FragmentDefinitionNode>,
  seen: Set<string>,
): { depth: number; cost: number } {
  let depth = 0;
  let cost = 0;
  for (const sel of set.selections) {
    if (sel.kind === Kind.FIELD) {
      if (sel.name.value.startsWith("__")) continue;
      const first = sel.arguments?.find((a) => a.name.value === "first");
      const mult = !first
        ? (CONNECTIONS.has(sel.name.value) ? DEFAULT_PAGE_SIZE : LISTS[sel.name.value] ?? 1)
        : first.value.kind === Kind.INT
        ? Number(first.value.value)
        : MAX_PAGE_SIZE;
      const inner = sel.selectionSet ? measure(sel.selectionSet, fragments, seen) : { depth: 0, cost: 0 };
      depth = Math.max(depth, 1 + inner.depth);
      cost += 1 + (sel.selectionSet ? Math.max(1, mult) * inner.cost : 0);
    } else {
      let inner: SelectionSetNode | undefined;
      if (sel.kind === Kind.INLINE_FRAGMENT) inner = sel.selectionSet;
      else if (!seen.has(sel.name.value)) inner = fragments[sel.name.value]?.selectionSet;
      if (!inner) continue;
      const name = sel.kind === Kind.FRAGMENT_SPREAD ? sel.name.value : null;
      if (name) seen.add(name);
      const m = measure(inner, fragments, seen);
      if (name) seen.delete(name);
      depth = Math.max(depth, m.depth);
      cost += m.cost;
    }
  }
  return { depth, cost };
}

function limitsRule(limits: Limits) {
  return (context: ValidationContext): ASTVisitor => ({
    OperationDefinition(op) {
      const fragments: Record<string, FragmentDefinitionNode> = {};
      for (const d of context.getDocument().definitions) {
        if (d.kind === Kind.FRAGMENT_DEFINITION) fragments[d.name.value] = d;
      }
      const { depth, cost } = measure(op.selectionSet, fragments, new Set());
      if (depth > limits.maxDepth) {
        context.reportError(
          new GraphQLError(`the query is ${depth} levels deep; the limit is ${limits.maxDepth}`, {
            nodes: [op],
            extensions: { code: "BAD_USER_INPUT" },
          }),
        );
      } else if (cost > limits.maxCost) {
        context.reportError(
          new GraphQLError(
            `the query may return about ${cost} values; the limit is ${limits.maxCost}: ask for smaller pages`,
            { nodes: [op], extensions: { code: "BAD_USER_INPUT" } },
          ),
        );
      }
    },
  });
}

export function limitsPlugin(limits: Limits = DEFAULT_LIMITS): Plugin {
  return {
    onValidate({ addValidationRule }) {
      addValidationRule(limitsRule(limits));
    },
  };
}

function isGraphQLError(e: unknown): e is GraphQLError {
  return e instanceof GraphQLError || (e instanceof Error && e.name === "GraphQLError");
}

/** yoga's `maskedErrors.maskError`. */
export function maskError(error: unknown, message: string): Error {
  const g = isGraphQLError(error) ? error : null;
  const original = g ? g.originalError : error;
  const at = g ? { nodes: g.nodes, source: g.source, positions: g.positions, path: g.path } : {};
  if (original instanceof GradsiftError) {
    // Returned as the same object, so yoga does not log a user's mistake as a server error. Both
    // graphql-js and graphql-jit copy the original's `extensions` (its code) into the GraphQLError.
    if (g) return g.extensions?.code === original.code ? g : withCode(g, original.code);
    return new GraphQLError(original.message, { extensions: { code: original.code } });
  }
  if (g && (!original || isGraphQLError(original))) {
    // GraphQL's own errors (syntax, validation, variable coercion): the client's to fix.
    return g.extensions?.code ? g : withCode(g, "BAD_USER_INPUT");
  }
  return new GraphQLError(`${message} (internal error; the server log has the details)`, {
    ...at,
    extensions: { code: "INTERNAL" },
  });
}

function withCode(g: GraphQLError, code: string): GraphQLError {
  const extensions = { ...g.extensions, code };
  if (Object.getOwnPropertyDescriptor(g, "extensions")?.configurable !== false) {
    Object.defineProperty(g, "extensions", { value: extensions, enumerable: true, configurable: true });
    return g;
  }
  // graphql-jit's errors (compiled queries) fix their extensions: a copy with the code, same place.
  const copy = new GraphQLError(g.message, { path: g.path, originalError: g.originalError, extensions });
  if (g.locations) Object.defineProperty(copy, "locations", { value: g.locations, enumerable: true });
  return copy;
}
