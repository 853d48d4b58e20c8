// Start order of services from their `depends`. Pure.

export interface Dependent {
  name: string;
  depends: string[];
}

export interface StartOrder {
  /** Every service exactly once, each after the services it depends on where possible. */
  order: string[];
  /** Human-readable problems: unknown dependencies, cycles. Never fatal. */
  problems: string[];
  /**
   * For each service, the services whose launch it waits for: its known dependencies placed
   * before it. Services with nothing between them start concurrently; one caught in a cycle
   * does not wait for the rest of the cycle.
   */
  waitFor: Map<string, string[]>;
}

/**
 * Kahn's algorithm, taking ready services in input order so the result is
 * stable. Unknown dependencies are ignored; services caught in a cycle are
 * appended in input order, so every service still starts.
 */
export function startOrder(services: Dependent[]): StartOrder {
  const names = new Set(services.map((s) => s.name));
  const problems: string[] = [];
  const waitingOn = new Map<string, Set<string>>();
  for (const s of services) {
    const deps = new Set<string>();
    for (const d of s.depends) {
      if (d === s.name) problems.push(`service ${s.name} depends on itself`);
      else if (!names.has(d)) problems.push(`service ${s.name} depends on unknown service ${d}`);
      else deps.add(d);
    }
    waitingOn.set(s.name, deps);
  }
  const order: string[] = [];
  const placed = new Set<string>();
  let progress = true;
  while (progress) {
    progress = false;
    for (const s of services) {
      if (placed.has(s.name)) continue;
      const deps = waitingOn.get(s.name)!;
      if ([...deps].every((d) => placed.has(d))) {
        order.push(s.name);
        placed.add(s.name);
        progress = true;
        break; // restart from the top to keep input order among ready services
      }
    }
  }
  const stuck = services.filter((s) => !placed.has(s.name)).map((s) => s.name);
  if (stuck.length > 0) {
    problems.push(`dependency cycle between services: ${stuck.join(', ')}`);
    order.push(...stuck);
  }
  const position = new Map(order.map((name, i) => [name, i]));
  const waitFor = new Map(order.map((name) => [name, [...waitingOn.get(name)!].filter((d) => position.get(d)! < position.get(name)!)]));
  return { order, problems, waitFor };
}
