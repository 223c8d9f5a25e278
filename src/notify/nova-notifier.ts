// Tells Nova about its instances' ports (Neutron's nova notifier): the port facts this process
// commits become network-vif-plugged / -unplugged / -deleted and network-changed events, sent in batches to Nova's
// os-server-external-events. Taking note of a commit is an array push: the API never waits for Nova.
import type { FastifyBaseLogger } from 'fastify';
import { NovaClient, NovaRetryableError, type NovaAnswer } from '../client/nova.ts';
import { networkChangedEvent, portDeletedEvent, portStatusEvent, type NovaEvent } from '../model/nova-events.ts';
import { onPortFacts, type PortFact } from '../networking/port-events.ts';
import type { NovaConfig } from '../server-config-nova.ts';
import type { Reader } from '../store/unit-of-work.ts';
import { BatchSender } from './batch-sender.ts';

/** Pause before the first retry of a batch (then doubled), in ms. */
const RETRY_DELAY_MS = 500;

export interface NovaNotifier {
  /** Stops listening and sends what is queued, once. */
  close(): Promise<void>;
}

type Log = Pick<FastifyBaseLogger, 'info' | 'warn' | 'error' | 'debug'>;

/** The event a committed port fact means for Nova, if any, under the notify_nova_on_* settings. */
export function eventOfFact(fact: PortFact, config: Pick<NovaConfig, 'notifyOnStatusChanges' | 'notifyOnDataChanges'>): NovaEvent | null {
  if (fact.kind === 'status') return config.notifyOnStatusChanges ? portStatusEvent(fact.port, fact.previous, fact.current) : null;
  if (!config.notifyOnDataChanges) return null;
  return fact.kind === 'changed' ? networkChangedEvent(fact.port) : portDeletedEvent(fact.port);
}

function logAnswer(log: Log, answer: NovaAnswer, batch: NovaEvent[]): void {
  if (answer.status === 404) return log.debug({ events: batch }, 'Nova returned NotFound for the events');
  for (const e of answer.events) {
    if (e.code !== 200) log.warn({ event: e }, 'Nova event returned with failed status');
  }
  log.info({ events: answer.events.length, status: answer.status }, 'sent events to Nova');
}

export function startNovaNotifier(db: Reader, config: NovaConfig, log: Log): NovaNotifier {
  const client = new NovaClient({
    authUrl: config.authUrl,
    auth: config.auth,
    endpointType: config.endpointType,
    regionName: config.regionName,
    timeoutMs: config.timeout * 1000,
  });
  const sender = new BatchSender<NovaEvent>({
    intervalMs: config.sendEventsInterval * 1000,
    retries: config.httpRetries,
    retryDelayMs: RETRY_DELAY_MS,
    send: async (batch) => logAnswer(log, await client.send(batch), batch),
    isRetryable: (e) => e instanceof NovaRetryableError,
    onRetry: (batch, e, attempt) =>
      log.warn({ events: batch.length, attempt, reason: (e as Error).message }, 'sending events to Nova failed; retrying'),
    onDropped: (batch, e, attempts) =>
      log.error({ events: batch, attempts, reason: (e as Error).message }, 'failed to notify Nova on events'),
  });
  const unsubscribe = onPortFacts(db, (facts) => {
    for (const fact of facts) {
      const event = eventOfFact(fact, config);
      if (event) sender.queue(event);
    }
  });
  return {
    async close() {
      unsubscribe();
      await sender.close();
    },
  };
}
