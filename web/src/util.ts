/// <reference lib="dom" />
/** Small shared pieces: formatting, the hash router, data hooks. */
import { useEffect, useState } from "preact/hooks";
import { ApiError, gql } from "./api.ts";

export const pct = (x: number | null | undefined, digits = 2) =>
  x == null ? "—" : `${(100 * x).toFixed(digits)} %`;
export const secs = (s: number | null | undefined) =>
  s == null
    ? "—"
    : s < 10
    ? `${s.toFixed(2)} s`
    : s < 600
    ? `${s.toFixed(1)} s`
    : `${(s / 60).toFixed(1)} min`;
export const int = (n: number) => n.toLocaleString("en");

/** The current location hash as a path ("/runs/abc") and query. */
export function useRoute(): { path: string; query: URLSearchParams } {
  const read = () => {
    const [path, q] = (location.hash.slice(1) || "/").split("?");
    return { path, query: new URLSearchParams(q ?? "") };
  };
  const [route, setRoute] = useState(read);
  useEffect(() => {
    const on = () => setRoute(read());
    addEventListener("hashchange", on);
    return () => removeEventListener("hashchange", on);
  }, []);
  return route;
}

export type Load<T> = { data: T | null; error: ApiError | null; loading: boolean; reload(): void };

/** Runs a query when its variables change. */
export function useQuery<T>(query: string, variables: Record<string, unknown>, skip = false): Load<T> {
  const key = JSON.stringify(variables);
  const [n, setN] = useState(0);
  const [state, setState] = useState<{ data: T | null; error: ApiError | null; loading: boolean }>({
    data: null,
    error: null,
    loading: !skip,
  });
  useEffect(() => {
    if (skip) return;
    let live = true;
    setState((s) => ({ ...s, loading: true }));
    gql<T>(query, variables).then(
      (data) => live && setState({ data, error: null, loading: false }),
      (e) => live && setState({ data: null, error: asApiError(e), loading: false }),
    );
    return () => {
      live = false;
    };
  }, [query, key, n, skip]);
  return { ...state, reload: () => setN((x) => x + 1) };
}

export function asApiError(e: unknown): ApiError {
  return e instanceof ApiError ? e : new ApiError([{ message: e instanceof Error ? e.message : String(e) }]);
}

/** Marks a moment for the browser test (and anyone profiling) as a `performance.mark` with details. */
export function mark(name: string, detail?: Record<string, unknown>) {
  performance.mark(name, { detail });
}

/** Colours of chart series, by role. */
export const COLORS = [
  "#2563eb",
  "#dc2626",
  "#16a34a",
  "#9333ea",
  "#ea580c",
  "#0891b2",
  "#ca8a04",
  "#db2777",
];
