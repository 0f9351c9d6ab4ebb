import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { KubeConfig } from '@kubernetes/client-node';

/** The subset of an EndpointSlice the fake stores (what the gateway reads). */
export interface FakeEndpointSlice {
  metadata: { name: string; namespace?: string; labels?: Record<string, string>; resourceVersion?: string };
  addressType?: string;
  endpoints: Array<{ addresses: string[]; conditions?: { ready?: boolean; serving?: boolean; terminating?: boolean }; targetRef?: { kind: string; name: string; namespace?: string } }>;
}

export interface RecordedRequest {
  readonly method: string;
  readonly path: string;
  readonly query: URLSearchParams;
  readonly headers: IncomingMessage['headers'];
  readonly body: string;
  /** Date.now() when the request was complete. */
  readonly receivedAt: number;
}

type WatchEventType = 'ADDED' | 'MODIFIED' | 'DELETED';

interface LoggedEvent {
  readonly resourceVersion: number;
  readonly namespace: string;
  readonly type: WatchEventType;
  readonly slice: FakeEndpointSlice;
}

interface OpenWatch {
  readonly namespace: string;
  readonly selector: Map<string, string>;
  readonly res: ServerResponse;
}

/**
 * A fake Kubernetes API server for tests (plain HTTP on 127.0.0.1, any bearer token): list and
 * watch of EndpointSlices with label selectors `k=v[,k=v]`, resource versions, replay of missed
 * events from a log that `compact()` empties (an older `resourceVersion` then gets the API server's
 * in-stream ERROR 410 "Expired"), and PATCH of pods (recorded, annotations merged).
 */
export class FakeKubeApi {
  readonly requests: RecordedRequest[] = [];
  /** Pod annotations after every PATCH, by `<namespace>/<name>`. */
  readonly podAnnotations = new Map<string, Record<string, string>>();
  private readonly slices = new Map<string, FakeEndpointSlice>();
  private log: LoggedEvent[] = [];
  private compactedThrough = 0;
  private version = 1;
  private readonly watches = new Set<OpenWatch>();
  private held: Array<() => void> | undefined;
  private readonly failures: Array<{ match: (req: RecordedRequest) => boolean; status: number }> = [];
  private readonly server = createServer((req, res) => this.handle(req, res));
  private baseUrl = '';

  async start(): Promise<this> {
    await new Promise<void>((resolve) => this.server.listen(0, '127.0.0.1', resolve));
    this.baseUrl = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
    return this;
  }

  get url(): string {
    return this.baseUrl;
  }

  /** The latest resourceVersion handed out. */
  get resourceVersion(): string {
    return String(this.version);
  }

  /** A KubeConfig for this server (the kind of config `loadFromCluster()` builds in a pod). */
  kubeConfig(): KubeConfig {
    const kc = new KubeConfig();
    kc.loadFromOptions({
      clusters: [{ name: 'fake', server: this.baseUrl, skipTLSVerify: true }],
      users: [{ name: 'fake', token: 'fake-token' }],
      contexts: [{ name: 'fake', cluster: 'fake', user: 'fake' }],
      currentContext: 'fake',
    });
    return kc;
  }

  /** Creates or replaces a slice; open watches see ADDED or MODIFIED. */
  applySlice(namespace: string, slice: FakeEndpointSlice): void {
    const key = `${namespace}/${slice.metadata.name}`;
    const type: WatchEventType = this.slices.has(key) ? 'MODIFIED' : 'ADDED';
    const stored = structuredClone(slice);
    stored.metadata.namespace = namespace;
    stored.metadata.resourceVersion = String(++this.version);
    this.slices.set(key, stored);
    this.emit({ resourceVersion: this.version, namespace, type, slice: stored });
  }

  deleteSlice(namespace: string, name: string): void {
    const key = `${namespace}/${name}`;
    const slice = this.slices.get(key);
    if (slice === undefined) throw new Error(`no slice ${key}`);
    this.slices.delete(key);
    const deleted = structuredClone(slice);
    deleted.metadata.resourceVersion = String(++this.version);
    this.emit({ resourceVersion: this.version, namespace, type: 'DELETED', slice: deleted });
  }

  /** Forgets the event log: a watch from any earlier resource version now gets 410 Expired. */
  compact(): void {
    this.compactedThrough = this.version;
    this.log = [];
  }

  /** Ends every open watch stream from the server side (as the API server does on its timeout). */
  closeWatches(): void {
    for (const watch of this.watches) watch.res.end();
    this.watches.clear();
  }

  /** Watch requests arriving from now on wait, unanswered, until `releaseWatches()`. */
  holdWatches(): void {
    this.held ??= [];
  }

  get heldWatches(): number {
    return this.held?.length ?? 0;
  }

  releaseWatches(): void {
    const held = this.held ?? [];
    this.held = undefined;
    for (const answer of held) answer();
  }

  get openWatches(): number {
    return this.watches.size;
  }

  /** The next request that `match`es is answered with `status` and a Status body. */
  failNext(match: (req: RecordedRequest) => boolean, status: number): void {
    this.failures.push({ match, status });
  }

  watchRequests(): RecordedRequest[] {
    return this.requests.filter((r) => r.method === 'GET' && r.query.get('watch') === 'true');
  }

  listRequests(): RecordedRequest[] {
    return this.requests.filter((r) => r.method === 'GET' && r.path.endsWith('/endpointslices') && r.query.get('watch') !== 'true');
  }

  patchRequests(): RecordedRequest[] {
    return this.requests.filter((r) => r.method === 'PATCH');
  }

  async close(): Promise<void> {
    this.closeWatches();
    this.server.closeAllConnections();
    await new Promise<void>((resolve, reject) => this.server.close((error) => (error ? reject(error) : resolve())));
  }

  private emit(event: LoggedEvent): void {
    this.log.push(event);
    for (const watch of this.watches) {
      if (watch.namespace === event.namespace && matches(watch.selector, event.slice)) writeEvent(watch.res, event.type, event.slice);
    }
  }

  private handle(req: IncomingMessage, res: ServerResponse): void {
    let body = '';
    req.on('data', (chunk: Buffer) => {
      body += chunk.toString();
    });
    req.on('end', () => {
      const url = new URL(req.url ?? '/', 'http://fake');
      const recorded: RecordedRequest = { method: req.method ?? 'GET', path: url.pathname, query: url.searchParams, headers: req.headers, body, receivedAt: Date.now() };
      this.requests.push(recorded);
      if (req.headers.authorization !== 'Bearer fake-token') return status(res, 401, 'Unauthorized');
      const failure = this.failures.find((f) => f.match(recorded));
      if (failure !== undefined) {
        this.failures.splice(this.failures.indexOf(failure), 1);
        return status(res, failure.status, 'injected failure');
      }
      const slices = /^\/apis\/discovery\.k8s\.io\/v1\/namespaces\/([^/]+)\/endpointslices$/.exec(url.pathname);
      if (slices !== null && recorded.method === 'GET') return this.slicesRequest(decodeURIComponent(slices[1]!), recorded, res);
      const pod = /^\/api\/v1\/namespaces\/([^/]+)\/pods\/([^/]+)$/.exec(url.pathname);
      if (pod !== null && recorded.method === 'PATCH') return this.patchPod(decodeURIComponent(pod[1]!), decodeURIComponent(pod[2]!), recorded, res);
      return status(res, 404, `not found: ${recorded.method} ${url.pathname}`);
    });
  }

  private slicesRequest(namespace: string, req: RecordedRequest, res: ServerResponse): void {
    const selector = parseSelector(req.query.get('labelSelector') ?? '');
    if (selector === undefined) return status(res, 400, 'the fake API server supports only k=v[,k=v] label selectors');
    if (req.query.get('watch') !== 'true') {
      const items = [...this.slices.values()].filter((s) => s.metadata.namespace === namespace && matches(selector, s));
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ kind: 'EndpointSliceList', apiVersion: 'discovery.k8s.io/v1', metadata: { resourceVersion: String(this.version) }, items }));
      return;
    }
    if (this.held !== undefined) {
      this.held.push(() => {
        if (!res.destroyed && !res.writableEnded) this.slicesRequest(namespace, req, res);
      });
      return;
    }
    const from = Number(req.query.get('resourceVersion') ?? '0');
    res.writeHead(200, { 'content-type': 'application/json', 'transfer-encoding': 'chunked' });
    res.flushHeaders();
    if (from < this.compactedThrough) {
      res.write(`${JSON.stringify({ type: 'ERROR', object: { kind: 'Status', apiVersion: 'v1', status: 'Failure', reason: 'Expired', code: 410, message: `too old resource version: ${from} (${this.compactedThrough})` } })}\n`);
      res.end();
      return;
    }
    for (const event of this.log) {
      if (event.resourceVersion > from && event.namespace === namespace && matches(selector, event.slice)) writeEvent(res, event.type, event.slice);
    }
    const watch: OpenWatch = { namespace, selector, res };
    this.watches.add(watch);
    res.on('close', () => this.watches.delete(watch));
  }

  private patchPod(namespace: string, name: string, req: RecordedRequest, res: ServerResponse): void {
    const key = `${namespace}/${name}`;
    let patch: { metadata?: { annotations?: Record<string, string> } };
    try {
      patch = JSON.parse(req.body) as typeof patch;
    } catch (error) {
      return status(res, 400, `bad patch body: ${(error as Error).message}`);
    }
    const annotations = { ...this.podAnnotations.get(key), ...patch.metadata?.annotations };
    this.podAnnotations.set(key, annotations);
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(JSON.stringify({ kind: 'Pod', apiVersion: 'v1', metadata: { name, namespace, annotations, resourceVersion: String(++this.version) } }));
  }
}

function writeEvent(res: ServerResponse, type: WatchEventType, slice: FakeEndpointSlice): void {
  res.write(`${JSON.stringify({ type, object: { kind: 'EndpointSlice', apiVersion: 'discovery.k8s.io/v1', ...slice } })}\n`);
}

function status(res: ServerResponse, code: number, message: string): void {
  res.writeHead(code, { 'content-type': 'application/json' });
  res.end(JSON.stringify({ kind: 'Status', apiVersion: 'v1', status: 'Failure', code, message }));
}

function parseSelector(selector: string): Map<string, string> | undefined {
  const terms = new Map<string, string>();
  for (const term of selector.split(',').filter((t) => t.length > 0)) {
    const [key, value, extra] = term.split('=');
    if (key === undefined || value === undefined || extra !== undefined) return undefined;
    terms.set(key, value);
  }
  return terms;
}

function matches(selector: Map<string, string>, slice: FakeEndpointSlice): boolean {
  for (const [key, value] of selector) if (slice.metadata.labels?.[key] !== value) return false;
  return true;
}
