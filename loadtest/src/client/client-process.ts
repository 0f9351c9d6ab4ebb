import { ClientWorker } from './client-worker.js';
import type { ParentMessage, WorkerMessage } from './worker-messages.js';

/**
 * Entry of a forked client process: wires IPC to a ClientWorker. Exits when the parent goes away,
 * so no client process outlives its run.
 */
function send(message: WorkerMessage): void {
  if (process.connected) process.send?.(message);
}

let worker: ClientWorker | undefined;
let workerId = -1;

function fail(error: unknown): void {
  send({ type: 'fatal', workerId, message: error instanceof Error ? error.stack ?? error.message : String(error) });
}

process.on('message', (message: ParentMessage) => {
  try {
    switch (message.type) {
      case 'init':
        workerId = message.config.workerId;
        worker = new ClientWorker(message.config, send);
        worker.startStats();
        send({ type: 'ready', workerId, mintMs: worker.mintMs });
        return;
      case 'connect':
        worker?.startConnecting();
        return;
      case 'mark':
        worker?.mark();
        return;
      case 'verify':
        worker?.verify(message.finalSeqs);
        return;
      case 'close':
        void worker?.closeAll().then(() => {
          send({ type: 'closed', workerId });
          process.disconnect();
          setTimeout(() => process.exit(0), 200).unref();
        }, fail);
        return;
    }
  } catch (error) {
    fail(error);
  }
});

process.on('disconnect', () => {
  setTimeout(() => process.exit(0), 100).unref();
});
