import type { MetricValue, Registry } from 'prom-client';

/**
 * The request counter and the request-duration histogram of every HTTP answer, kept as plain
 * numbers per (method, route, status) and handed to the prom-client registry when it is scraped.
 * prom-client's own Histogram validates and hashes its label object on every observation, even
 * through a child from `labels()`: a few microseconds on every request, ~3 % of a status poll
 * (issue 26). Here a request costs one Map lookup, a bucket search and three additions. The text
 * exposition is the registry's, so the series read exactly as prom-client's own would.
 */
interface Series {
  labels: { method: string; route: string; status: string };
  /** Observations per bucket, not cumulative (cumulated at scrape time); the last one is +Inf. */
  buckets: number[];
  sum: number;
  count: number;
}

export class HttpSeries {
  /** Bounded as prom-client's were: routes are the app's templates (junk URLs are "unmatched"), statuses a few dozen. */
  private readonly series = new Map<string, Series>();

  constructor(
    readonly counter: { name: string; help: string },
    readonly histogram: { name: string; help: string; buckets: readonly number[] },
  ) {}

  observe(method: string, route: string, status: number, seconds: number): void {
    const key = `${method} ${status} ${route}`;
    let s = this.series.get(key);
    if (!s) this.series.set(key, (s = this.newSeries(method, route, String(status))));
    const b = this.histogram.buckets;
    let i = 0;
    while (i < b.length && seconds > b[i]!) i++;
    s.buckets[i]! += 1;
    s.sum += seconds;
    s.count += 1;
  }

  /** Both metrics, registered in `registry` (prom-client reads any object with name, help, type and get()). */
  register(registry: Registry): void {
    registry.registerMetric(this.metric(this.counter, 'counter', () => this.counterValues()) as never);
    registry.registerMetric(this.metric(this.histogram, 'histogram', () => this.histogramValues()) as never);
  }

  private metric(m: { name: string; help: string }, type: 'counter' | 'histogram', values: () => MetricValue<string>[]) {
    const get = async () => ({ name: m.name, help: m.help, type, aggregator: 'sum', values: values() });
    return { name: m.name, help: m.help, type, aggregator: 'sum', get, reset: () => this.series.clear() };
  }

  private all(): Series[] {
    return [...this.series.values()];
  }

  private counterValues(): MetricValue<string>[] {
    return this.all().map((s) => ({ labels: { ...s.labels }, value: s.count }));
  }

  private histogramValues(): MetricValue<string>[] {
    const name = this.histogram.name;
    const out: MetricValue<string>[] = [];
    for (const s of this.all()) {
      let acc = 0;
      this.histogram.buckets.forEach((le, i) => {
        acc += s.buckets[i]!;
        out.push(value({ le }, acc, `${name}_bucket`, s.labels));
      });
      out.push(value({ le: '+Inf' }, s.count, `${name}_bucket`, s.labels));
      out.push(value({}, s.sum, `${name}_sum`, s.labels));
      out.push(value({}, s.count, `${name}_count`, s.labels));
    }
    return out;
  }

  private newSeries(method: string, route: string, status: string): Series {
    return { labels: { method, route, status }, buckets: new Array<number>(this.histogram.buckets.length + 1).fill(0), sum: 0, count: 0 };
  }
}

/** One exposition line's value, in the shape prom-client's own histogram hands its registry (series labels as shared labels). */
function value(labels: Record<string, string | number>, v: number, metricName: string, shared: Record<string, string>): MetricValue<string> {
  return { labels, value: v, metricName, sharedLabels: shared } as MetricValue<string>;
}
