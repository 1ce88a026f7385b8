import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { Registry } from 'prom-client';
import { HttpSeries } from '../../src/observability/http-series.js';

/**
 * The HTTP request counter and duration histogram (src/observability/http-series.ts) as Prometheus
 * reads them: the registry's text exposition, parsed back — counts per (method, route, status),
 * cumulative buckets where a value equal to a bound falls into that bound's bucket (Prometheus' `le`),
 * +Inf, _sum and _count.
 */
function parse(text: string): Map<string, number> {
  const out = new Map<string, number>();
  for (const line of text.split('\n')) {
    if (!line || line.startsWith('#')) continue;
    const i = line.lastIndexOf(' ');
    out.set(line.slice(0, i), Number(line.slice(i + 1)));
  }
  return out;
}

describe('HTTP request series', () => {
  it('counts per series and exposes a cumulative histogram with le, +Inf, _sum and _count', async () => {
    const registry = new Registry();
    const s = new HttpSeries({ name: 't_requests_total', help: 'requests' }, { name: 't_duration_seconds', help: 'duration', buckets: [0.01, 0.1, 1] });
    s.register(registry);
    s.observe('GET', '/v1/jobs/:id', 200, 0.004);
    s.observe('GET', '/v1/jobs/:id', 200, 0.1); // equal to a bound: in that bucket
    s.observe('GET', '/v1/jobs/:id', 200, 5); // above every bound: +Inf only
    s.observe('GET', '/v1/jobs/:id', 404, 0.02);
    const m = parse(await registry.metrics());
    const ok = 'method="GET",route="/v1/jobs/:id",status="200"';
    assert.equal(m.get(`t_requests_total{${ok}}`), 3);
    assert.equal(m.get('t_requests_total{method="GET",route="/v1/jobs/:id",status="404"}'), 1);
    assert.equal(m.get(`t_duration_seconds_bucket{le="0.01",${ok}}`), 1);
    assert.equal(m.get(`t_duration_seconds_bucket{le="0.1",${ok}}`), 2);
    assert.equal(m.get(`t_duration_seconds_bucket{le="1",${ok}}`), 2);
    assert.equal(m.get(`t_duration_seconds_bucket{le="+Inf",${ok}}`), 3);
    assert.equal(m.get(`t_duration_seconds_count{${ok}}`), 3);
    assert.ok(Math.abs(m.get(`t_duration_seconds_sum{${ok}}`)! - 5.104) < 1e-9);
    assert.match(await registry.metrics(), /# TYPE t_duration_seconds histogram\n/);

    // JSON export (registry.getMetricsAsJSON) reads the same numbers.
    const json = await registry.getMetricsAsJSON();
    const counter = json.find((x) => x.name === 't_requests_total')!;
    assert.equal(counter.type, 'counter');
    assert.deepEqual(counter.values.map((v) => v.value).sort(), [1, 3]);

    registry.resetMetrics();
    assert.equal(parse(await registry.metrics()).size, 0, 'reset empties every series');
  });
});
