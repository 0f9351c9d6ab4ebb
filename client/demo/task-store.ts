import { randomBytes } from 'node:crypto';
import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';

export type Column = 'todo' | 'doing' | 'done';
export const COLUMNS: readonly Column[] = ['todo', 'doing', 'done'];

export interface Task {
  readonly id: string;
  readonly title: string;
  readonly status: Column;
  readonly by?: string;
  /** 1 when created, +1 per update: the board keeps the highest it has seen of each task. */
  readonly version: number;
  readonly updatedAt: string;
}

/** A bad request to the task service (the HTTP layer answers 400 or 404 with the message). */
export class TaskStoreError extends Error {
  override readonly name = 'TaskStoreError';
  constructor(readonly status: 400 | 404, message: string) {
    super(message);
  }
}

/**
 * The demo task service's storage: every organization's tasks in one JSON file, rewritten whole
 * on each change through a temporary file and a rename (a crash leaves the old file or the new one,
 * never half of one). Changes are serialised, so concurrent requests never lose each other's work.
 */
export class TaskStore {
  private tasks = new Map<string, Map<string, Task>>();
  private writes: Promise<void> = Promise.resolve();

  private constructor(private readonly file: string) {}

  static async open(file: string): Promise<TaskStore> {
    const store = new TaskStore(file);
    let text: string | undefined;
    try {
      text = await readFile(file, 'utf8');
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
    }
    if (text !== undefined) {
      const saved = JSON.parse(text) as Record<string, Task[]>;
      for (const [organization, tasks] of Object.entries(saved)) store.tasks.set(organization, new Map(tasks.map((t) => [t.id, t])));
    }
    return store;
  }

  list(organization: string): Task[] {
    return [...(this.tasks.get(organization)?.values() ?? [])];
  }

  async create(organization: string, title: string, by: string | undefined): Promise<Task> {
    const trimmed = title.trim();
    if (trimmed.length === 0 || trimmed.length > 120) throw new TaskStoreError(400, 'title must be 1 to 120 characters');
    const task: Task = { id: randomBytes(4).toString('hex'), title: trimmed, status: 'todo', by, version: 1, updatedAt: new Date().toISOString() };
    return this.change(organization, task);
  }

  async update(organization: string, id: string, status: Column, by: string | undefined): Promise<Task> {
    if (!COLUMNS.includes(status)) throw new TaskStoreError(400, `status must be one of ${COLUMNS.join(', ')}`);
    const current = this.tasks.get(organization)?.get(id);
    if (current === undefined) throw new TaskStoreError(404, `no task ${id} in ${organization}`);
    return this.change(organization, { ...current, status, by, version: current.version + 1, updatedAt: new Date().toISOString() });
  }

  private async change(organization: string, task: Task): Promise<Task> {
    const tasks = this.tasks.get(organization) ?? new Map<string, Task>();
    tasks.set(task.id, task);
    this.tasks.set(organization, tasks);
    const write = this.writes.then(() => this.save());
    this.writes = write.catch(() => undefined);
    await write;
    return task;
  }

  private async save(): Promise<void> {
    const snapshot = Object.fromEntries([...this.tasks].map(([organization, tasks]) => [organization, [...tasks.values()]]));
    await mkdir(dirname(this.file), { recursive: true });
    const staging = `${this.file}.${randomBytes(4).toString('hex')}.tmp`;
    await writeFile(staging, `${JSON.stringify(snapshot, null, 2)}\n`);
    await rename(staging, this.file);
  }
}
