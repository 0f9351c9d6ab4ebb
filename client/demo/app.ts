import { createClient, type ClientStatus, type OrgcastClient, type TaskEvent } from '../src/index.js';

/** The live task board: the browser side of `npm run demo`. */

type Column = 'todo' | 'doing' | 'done';
/** A task as the task service stores it (client/demo/task-store.ts) and publishes it. */
interface Task {
  readonly id: string;
  readonly title: string;
  readonly status: Column;
  readonly by?: string;
  /** Increases with every change: the board keeps the highest it has seen. */
  readonly version?: number;
}
interface DemoUser {
  readonly id: string;
  readonly name: string;
  readonly organizations: readonly string[];
}
interface Session {
  readonly user: DemoUser;
  readonly token: string;
}

declare global {
  interface Window {
    /** For the browser test and the curious: the running client. */
    orgcastDemo?: { client: OrgcastClient<Task> };
  }
}

const NEXT: Record<Column, Column | undefined> = { todo: 'doing', doing: 'done', done: undefined };
const tasks = new Map<string, Task>();
let received = 0;

const $ = <T extends Element>(selector: string): T => {
  const element = document.querySelector<T>(selector);
  if (element === null) throw new Error(`missing ${selector}`);
  return element;
};

function numberParam(params: URLSearchParams, name: string, fallback: number): number {
  const value = Number(params.get(name) ?? Number.NaN);
  return Number.isFinite(value) && value >= 0 ? value : fallback;
}

async function fetchSession(userId: string): Promise<Session> {
  const response = await fetch(`/demo/session?user=${encodeURIComponent(userId)}`);
  if (!response.ok) throw new Error(`no session for ${userId}: HTTP ${response.status}`);
  return (await response.json()) as Session;
}

async function showPicker(): Promise<void> {
  $('#picker').removeAttribute('hidden');
  const users = (await (await fetch('/demo/users')).json()) as DemoUser[];
  $('#users').replaceChildren(...users.map((user) => {
    const link = document.createElement('a');
    link.href = `?user=${encodeURIComponent(user.id)}`;
    link.textContent = user.name;
    const orgs = document.createElement('span');
    orgs.textContent = user.organizations.join(' · ');
    link.append(orgs);
    const item = document.createElement('li');
    item.append(link);
    return item;
  }));
  renderStatus({ type: 'closed', reason: 'client' }, 'pick a user');
}

async function start(userId: string, params: URLSearchParams): Promise<void> {
  let session = await fetchSession(userId);
  let fresh = true;
  $('#app').removeAttribute('hidden');
  $('#who').innerHTML = '';
  const who = document.createElement('strong');
  who.textContent = session.user.name;
  $('#who').append(who, ` · ${session.user.organizations.join(', ')}`);
  $<HTMLSelectElement>('#create select').replaceChildren(...session.user.organizations.map((org) => new Option(org, org)));

  const client = createClient<Task>({
    url: location.origin,
    // The demo server mints a fresh token whenever the client asks for one again.
    getToken: async () => {
      if (!fresh) session = await fetchSession(userId);
      fresh = false;
      return session.token;
    },
    pollingAfterFailures: numberParam(params, 'pollAfter', 3),
    upgradeIntervalMs: numberParam(params, 'upgradeMs', 30_000) || 30_000,
    baseDelayMs: numberParam(params, 'baseDelayMs', 500) || 500,
    maxDelayMs: numberParam(params, 'maxDelayMs', 10_000) || 10_000,
  });
  window.orgcastDemo = { client };
  client.onStatus((status) => renderStatus(status));
  client.on('task.event.created', (event) => onTask(event, 'created'));
  client.on('task.event.updated', (event) => onTask(event, 'updated'));
  // Continuity could not be proven (history trimmed, or nothing to resume from): the task
  // service's state is the truth, so fetch it again.
  client.on('resync', (notice) => {
    toast(`Reloading ${notice.organizationId}: some updates may have been missed.`, 'warn');
    void load(() => session, notice.organizationId);
  });
  client.on('organization.access.revoked', (frame) => toast(`You left ${frame.data.organization_id}.`, 'warn'));

  // The board's state comes from the task service; live events are applied on top of it (both
  // carry the task's version, so whichever arrives last, the newer one stays).
  await Promise.all(session.user.organizations.map((organization) => load(() => session, organization)));
  document.body.dataset.loaded = 'true';

  $<HTMLFormElement>('#create').addEventListener('submit', (event) => {
    event.preventDefault();
    const form = event.currentTarget as HTMLFormElement;
    const data = new FormData(form);
    const title = String(data.get('title') ?? '').trim();
    if (title === '') return;
    callTasks(session, 'POST', '/tasks', { organization_id: String(data.get('organization')), title }).then(() => form.reset(), (error: unknown) => toast(String(error), 'warn'));
  });

  $('#board').addEventListener('click', (event) => {
    const button = (event.target as Element).closest<HTMLButtonElement>('button[data-move]');
    const card = button?.closest<HTMLElement>('[data-task]');
    if (button == null || card == null) return;
    const task = tasks.get(`${card.dataset.org}/${card.dataset.task}`);
    const next = task === undefined ? undefined : NEXT[task.status];
    if (task === undefined || next === undefined) return;
    callTasks(session, 'PATCH', `/tasks/${encodeURIComponent(card.dataset.org!)}/${encodeURIComponent(task.id)}`, { status: next }).catch((error: unknown) => toast(String(error), 'warn'));
  });
}

/** The task service (client/demo/task-service.ts), with the user's own token. */
async function callTasks(session: Session, method: string, path: string, body?: unknown): Promise<unknown> {
  const response = await fetch(path, {
    method,
    headers: { 'content-type': 'application/json', authorization: `Bearer ${session.token}` },
    ...(body !== undefined && { body: JSON.stringify(body) }),
  });
  const answer = (await response.json()) as { error?: string };
  if (!response.ok) throw new Error(`task service: ${answer.error ?? `HTTP ${response.status}`}`);
  return answer;
}

/** Loads one organization's tasks from the task service onto the board. */
async function load(session: () => Session, organization: string): Promise<void> {
  const { tasks: loaded } = (await callTasks(session(), 'GET', `/tasks?organization=${encodeURIComponent(organization)}`)) as { tasks: unknown[] };
  for (const task of loaded) if (isTask(task)) apply(organization, task, false);
}

/** Puts the task on the board unless the board already has a newer version of it. */
function apply(organization: string, task: Task, highlight = true): boolean {
  const key = `${organization}/${task.id}`;
  const known = tasks.get(key);
  if (known !== undefined && (known.version ?? 0) > (task.version ?? 0)) return false;
  tasks.set(key, task);
  renderCard(organization, task, highlight);
  return true;
}

function isTask(value: unknown): value is Task {
  const task = value as Partial<Task> | null;
  return typeof task === 'object' && task !== null && typeof task.id === 'string' && typeof task.title === 'string'
    && (task.status === 'todo' || task.status === 'doing' || task.status === 'done');
}

function onTask(event: TaskEvent<Task>, kind: 'created' | 'updated'): void {
  received += 1;
  $('#count').textContent = String(received);
  document.body.dataset.events = String(received);
  if (!isTask(event.data)) return;
  const organization = event.organization_id;
  const task = event.data;
  if (!apply(organization, task)) return;
  toast(kind === 'created'
    ? `New task in ${organization}: “${task.title}”${task.by === undefined ? '' : ` (by ${task.by})`}`
    : `“${task.title}” moved to ${task.status}${task.by === undefined ? '' : ` by ${task.by}`}`);
}

function renderCard(organization: string, task: Task, highlight: boolean): void {
  let card = document.querySelector<HTMLLIElement>(`[data-task="${CSS.escape(task.id)}"][data-org="${CSS.escape(organization)}"]`);
  if (card === null) {
    card = document.createElement('li');
    card.className = 'task';
    card.dataset.task = task.id;
    card.dataset.org = organization;
  }
  card.dataset.status = task.status;
  const title = document.createElement('div');
  title.className = 'title';
  title.textContent = task.title;
  const meta = document.createElement('div');
  meta.className = 'meta';
  const org = document.createElement('span');
  org.className = 'org';
  org.textContent = organization;
  meta.append(org, task.by === undefined ? '' : `by ${task.by}`);
  const next = NEXT[task.status];
  if (next !== undefined) {
    const move = document.createElement('button');
    move.type = 'button';
    move.dataset.move = next;
    move.textContent = `→ ${next}`;
    meta.append(move);
  }
  card.replaceChildren(title, meta);
  card.classList.remove('fresh');
  if (highlight) {
    void card.offsetWidth; // restart the highlight animation
    card.classList.add('fresh');
  }
  $(`[data-column="${task.status}"] ol`).prepend(card);
}

function renderStatus(status: ClientStatus, override?: string): void {
  const element = $<HTMLElement>('#status');
  element.dataset.status = status.type;
  element.dataset.transport = 'transport' in status ? status.transport : '';
  $('#status .label').textContent = override ?? describe(status);
}

function describe(status: ClientStatus): string {
  switch (status.type) {
    case 'connecting':
      return status.transport === 'polling' ? 'Switching to long-polling…' : `Connecting${status.attempt > 1 ? ` (attempt ${status.attempt})` : ''}…`;
    case 'connected':
      return `Live · WebSocket · ${status.pod}`;
    case 'polling':
      return 'Live · long-polling (WebSocket unavailable)';
    case 'reconnecting':
      return `Reconnecting in ${(status.delayMs / 1_000).toFixed(1)} s (attempt ${status.attempt})`;
    case 'closed':
      return status.reason === 'client' ? 'Disconnected' : `Disconnected: ${status.error?.message ?? status.reason}`;
  }
}

function toast(text: string, tone: 'info' | 'warn' = 'info'): void {
  const element = document.createElement('div');
  element.className = `toast ${tone}`;
  element.textContent = text;
  $('#toasts').append(element);
  setTimeout(() => element.remove(), 4_000);
  while ($('#toasts').childElementCount > 4) $('#toasts').firstElementChild?.remove();
}

const params = new URLSearchParams(location.search);
const user = params.get('user');
(user === null ? showPicker() : start(user, params)).catch((error: unknown) => {
  renderStatus({ type: 'closed', reason: 'terminal' }, `Demo failed: ${String(error)}`);
});
