// The agent's Prometheus metrics (served on --metrics-listen, off by default): pass durations by
// kind, operations applied, failed and unconverged passes, ports wired, and the change-feed
// revision of the last converged pass; plus Node's process metrics.
import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';

/** Seconds: a targeted pass takes milliseconds, a full pass of a big node seconds. */
const PASS_BUCKETS = [0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60];

export interface PassOutcome {
  full: boolean;
  ms: number;
  ops: number;
  converged: boolean;
  /** Ports bound here that are wired (ACTIVE). */
  portsWired: number;
  /** The revision of the host view the pass worked from. */
  revision: number;
}

export class AgentMetrics {
  readonly registry = new Registry();
  private readonly duration = new Histogram({
    name: 'neutrino_agent_pass_duration_seconds',
    help: 'Reconcile passes and how long they took, by kind (full or targeted) and whether they converged.',
    labelNames: ['kind', 'converged'],
    buckets: PASS_BUCKETS,
    registers: [this.registry],
  });
  private readonly operations = new Counter({
    name: 'neutrino_agent_operations_applied_total',
    help: 'Kernel operations applied by passes.',
    registers: [this.registry],
  });
  private readonly errors = new Counter({
    name: 'neutrino_agent_errors_total',
    help: "Passes that did not converge ('not_converged') or failed before the end ('failed').",
    labelNames: ['kind'],
    registers: [this.registry],
  });
  private readonly wired = new Gauge({
    name: 'neutrino_agent_ports_wired',
    help: 'Ports bound to this host that the last pass found wired (ACTIVE).',
    registers: [this.registry],
  });
  private readonly revision = new Gauge({
    name: 'neutrino_agent_converged_revision',
    help: 'Change-feed revision of the host view the last converged pass realized.',
    registers: [this.registry],
  });

  constructor() {
    collectDefaultMetrics({ register: this.registry });
    this.errors.inc({ kind: 'not_converged' }, 0);
    this.errors.inc({ kind: 'failed' }, 0);
  }

  pass(o: PassOutcome): void {
    this.duration.observe({ kind: o.full ? 'full' : 'targeted', converged: String(o.converged) }, o.ms / 1000);
    this.operations.inc(o.ops);
    this.wired.set(o.portsWired);
    if (o.converged) this.revision.set(o.revision);
    else this.errors.inc({ kind: 'not_converged' });
  }

  failed(): void {
    this.errors.inc({ kind: 'failed' });
  }

  /**
   * Serves the kernel's counts of full observations' reads, made or kept (taken again while its
   * monitor heard nothing: ruleset-watch.ts, ip-watch.ts), as they are at each scrape.
   */
  watchKernelReads(counts: () => Record<string, { read: number; kept: number }>): void {
    new Counter({
      name: 'neutrino_agent_kernel_reads_total',
      help: "Full observations' reads of the node by what they read, made or kept while the kernel announced no change.",
      labelNames: ['state', 'outcome'],
      registers: [this.registry],
      collect() {
        this.reset();
        for (const [state, c] of Object.entries(counts())) {
          this.inc({ state, outcome: 'read' }, c.read);
          this.inc({ state, outcome: 'kept' }, c.kept);
        }
      },
    });
  }
}
