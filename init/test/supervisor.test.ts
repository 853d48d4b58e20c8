import { describe, expect, it } from 'vitest';
import { Supervisor } from '../src/supervisor.js';

const policy = { initialMs: 100, maxMs: 1000, resetAfterMs: 5000 };

describe('Supervisor', () => {
  it('restarts an always service with growing, capped delays', () => {
    const s = new Supervisor(policy);
    s.add('web', 'always');
    const delays: number[] = [];
    let now = 0;
    for (let run = 0; run < 6; run++) {
      s.started('web', 100 + run, now);
      now += 10;
      const d = s.exited('web', 0, now);
      expect(d.restart).toBe(true);
      if (d.restart) delays.push(d.delayMs);
    }
    expect(delays).toEqual([100, 200, 400, 800, 1000, 1000]);
    expect(s.status('web')).toMatchObject({ state: 'backoff', restarts: 5, lastExit: 0, pid: null });
  });

  it('resets the backoff after a long healthy run', () => {
    const s = new Supervisor(policy);
    s.add('web', 'always');
    s.started('web', 1, 0);
    s.exited('web', 1, 10);
    s.started('web', 2, 100);
    expect(s.exited('web', 1, 110)).toEqual({ restart: true, delayMs: 200 });
    s.started('web', 3, 1000);
    expect(s.exited('web', 1, 1000 + policy.resetAfterMs)).toEqual({ restart: true, delayMs: 100 });
  });

  it('on-failure restarts only after a non-zero exit', () => {
    const s = new Supervisor(policy);
    s.add('job', 'on-failure');
    s.started('job', 1, 0);
    expect(s.exited('job', 2, 1).restart).toBe(true);
    s.started('job', 2, 2);
    expect(s.exited('job', 0, 3)).toEqual({ restart: false });
    expect(s.status('job').state).toBe('exited');
  });

  it('never does not restart', () => {
    const s = new Supervisor(policy);
    s.add('once', 'never');
    s.started('once', 1, 0);
    expect(s.exited('once', 139, 1)).toEqual({ restart: false });
  });

  it('a stopped service is not restarted, and want() brings it back with a fresh backoff', () => {
    const s = new Supervisor(policy);
    s.add('web', 'always');
    s.started('web', 7, 0);
    expect(s.byPid(7)).toBe('web');
    s.stop('web');
    expect(s.exited('web', 143, 1)).toEqual({ restart: false });
    expect(s.status('web').state).toBe('stopped');
    expect(s.shouldStart('web')).toBe(false);
    s.want('web');
    expect(s.shouldStart('web')).toBe(true);
    s.started('web', 8, 2);
    expect(s.exited('web', 1, 3)).toEqual({ restart: true, delayMs: 100 });
  });

  it('stopping during backoff cancels the pending restart', () => {
    const s = new Supervisor(policy);
    s.add('web', 'always');
    s.started('web', 1, 0);
    s.exited('web', 1, 1);
    expect(s.shouldStart('web')).toBe(true);
    s.stop('web');
    expect(s.shouldStart('web')).toBe(false);
  });

  it('lists running services and rejects unknown or duplicate names', () => {
    const s = new Supervisor(policy);
    s.add('a', 'always');
    s.add('b', 'never');
    s.started('a', 10, 0);
    expect(s.running()).toEqual([{ name: 'a', pid: 10 }]);
    expect(() => s.add('a', 'always')).toThrow(/already supervised/);
    expect(() => s.exited('nope', 0, 0)).toThrow(/unknown service/);
  });

  it('a stop while a run is being launched sticks: the run is not wanted and is not restarted', () => {
    const s = new Supervisor();
    s.add('web', 'always');
    s.stop('web'); // lkctl stop / shutdown arrives during a staged start
    s.started('web', 5, 0);
    expect(s.wanted('web')).toBe(false);
    expect(s.exited('web', 143, 50)).toEqual({ restart: false });
    expect(s.status('web').state).toBe('stopped');
    s.want('web');
    expect(s.wanted('web')).toBe(true);
    expect(s.shouldStart('web')).toBe(true);
  });
});
