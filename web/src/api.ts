/// <reference lib="dom" />
/**
 * The dashboard's only line to the service: GraphQL queries and mutations over HTTP POST, and
 * `runEvents` over graphql-ws on the same path. Errors come back as `ApiError` carrying the API's
 * messages and `extensions.code`s, so forms can show them next to the fields they name.
 */
import { type Client, createClient } from "graphql-ws";

export interface GqlError {
  message: string;
  path?: (string | number)[];
  extensions?: { code?: string };
}

export class ApiError extends Error {
  readonly errors: GqlError[];
  constructor(errors: GqlError[]) {
    super(errors.map((e) => e.message).join("; "));
    this.errors = errors;
  }
}

const ENDPOINT = "/graphql";

/** Runs a query or mutation; throws ApiError when the response has errors. */
export async function gql<T>(query: string, variables: Record<string, unknown> = {}): Promise<T> {
  const res = await fetch(ENDPOINT, {
    method: "POST",
    headers: { "content-type": "application/json", accept: "application/json" },
    body: JSON.stringify({ query, variables }),
  });
  const body = await res.json().catch(() => null) as { data?: T; errors?: GqlError[] } | null;
  if (!body) throw new ApiError([{ message: `HTTP ${res.status}`, extensions: { code: "INTERNAL" } }]);
  if (body.errors?.length) throw new ApiError(body.errors);
  return body.data as T;
}

/** When the last WebSocket message arrived (performance.now()): the start of an update's latency. */
export const wire = { lastMessageAt: 0 };

class StampedWebSocket extends WebSocket {
  constructor(url: string | URL, protocols?: string | string[]) {
    super(url, protocols);
    // Registered before graphql-ws's own listener, so the stamp is set when it handles the message.
    this.addEventListener("message", () => {
      wire.lastMessageAt = performance.now();
    });
  }
}

let client: Client | null = null;

function wsClient(): Client {
  client ??= createClient({
    url: `${location.protocol === "https:" ? "wss" : "ws"}://${location.host}${ENDPOINT}`,
    webSocketImpl: StampedWebSocket,
    lazy: true,
    retryAttempts: 5,
  });
  return client;
}

/** Subscribes; returns the function that stops it. */
export function subscribe<T>(
  query: string,
  variables: Record<string, unknown>,
  sink: { next(data: T): void; error?(e: ApiError): void; complete?(): void },
): () => void {
  return wsClient().subscribe<T>({ query, variables }, {
    next: (r) => {
      if (r.errors?.length) sink.error?.(new ApiError(r.errors as GqlError[]));
      else if (r.data) sink.next(r.data as T);
    },
    error: (e) =>
      sink.error?.(
        new ApiError([{ message: e instanceof Error ? e.message : "the connection to the server closed" }]),
      ),
    complete: () => sink.complete?.(),
  });
}
