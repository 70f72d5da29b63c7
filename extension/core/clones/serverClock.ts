import { VersionApi, type KubeConfig } from '@kubernetes/client-node';
import { api } from '../kube/apiErrors';

/**
 * The API server's idea of "now". Expiry is judged by the server's clock, never the laptop's: a
 * laptop whose clock runs an hour fast must not delete clones early (kt-connect #297). The offset
 * is learned from the HTTP Date header (1 s resolution, plenty for TTLs in minutes).
 */
export class ServerClock {
  private offsetMs: number | undefined;
  private learnedAt = 0;

  constructor(private readonly kc: KubeConfig, private readonly maxAgeMs = 5 * 60_000, private readonly localNow: () => number = Date.now) {}

  /** Learns the offset from a response's Date header (any call's headers will do). */
  observe(headers: Readonly<Record<string, string>> | undefined, sentAt: number, receivedAt: number): void {
    const date = headers?.date ?? headers?.Date;
    if (!date) return;
    const server = Date.parse(date);
    if (Number.isNaN(server)) return;
    // The header was stamped somewhere between send and receive; the middle is the best guess,
    // and +500 ms centres the 1 s truncation.
    this.offsetMs = server + 500 - (sentAt + receivedAt) / 2;
    this.learnedAt = receivedAt;
  }

  /** The server's current time, asking the server when the offset is unknown or old. */
  async now(): Promise<Date> {
    if (this.offsetMs === undefined || this.localNow() - this.learnedAt > this.maxAgeMs) await this.refresh();
    return new Date(this.localNow() + (this.offsetMs ?? 0));
  }

  async refresh(): Promise<void> {
    const client = this.kc.makeApiClient(VersionApi);
    const sentAt = this.localNow();
    const info = await api({ verb: 'get', resource: 'version' }, () => client.getCodeWithHttpInfo());
    this.observe(info.headers, sentAt, this.localNow());
  }
}
