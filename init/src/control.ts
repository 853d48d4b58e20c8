// The init side of lkctl: a unix socket in /run.

import * as os from 'os';
import * as lk from 'lk';
import { CONTROL_SOCKET, formatList, parseCommand, type Command } from './protocol.js';
import type { Services } from './services.js';
import type { ShutdownKind } from './shutdown.js';
import { detach, errorMessage, guarded, log, nowMs, readText } from './sys.js';

export interface ControlDeps {
  services: () => Services | null;
  shutdown: (kind: ShutdownKind) => void;
  graceMs: number;
}

function reply(fd: number, ok: boolean, text: string): void {
  try {
    lk.writeString(fd, `${ok ? 0 : 1}\n${text}`);
  } catch {
    // the client went away
  }
}

function close(fd: number): void {
  os.setReadHandler(fd, null);
  os.close(fd);
}

async function execute(fd: number, cmd: Command, deps: ControlDeps): Promise<boolean> {
  const services = deps.services();
  if (cmd.verb === 'poweroff' || cmd.verb === 'reboot' || cmd.verb === 'halt') {
    reply(fd, true, `${cmd.verb} requested\n`);
    deps.shutdown(cmd.verb);
    return false;
  }
  if (!services) {
    reply(fd, false, 'services are not started yet\n');
    return false;
  }
  if (cmd.verb === 'ls') {
    reply(fd, true, formatList(services.list(), nowMs()));
    return false;
  }
  if (!('name' in cmd)) return false;
  if (!services.has(cmd.name)) {
    reply(fd, false, `no service named ${cmd.name}\n`);
    return false;
  }
  switch (cmd.verb) {
    case 'start':
      await services.start(cmd.name, true);
      reply(fd, true, '');
      return false;
    case 'stop':
      await services.stop(cmd.name, deps.graceMs);
      reply(fd, true, '');
      return false;
    case 'restart':
      await services.restart(cmd.name, deps.graceMs);
      reply(fd, true, '');
      return false;
    case 'logs': {
      reply(fd, true, readText(services.logPath(cmd.name)!) ?? '');
      if (!cmd.follow) return false;
      const sink = services.sink(cmd.name)!;
      sink.follow(fd);
      // The only thing a follower sends is EOF when it goes away.
      os.setReadHandler(
        fd,
        guarded('lkctl follower', () => {
          if (lk.readString(fd) === null) return;
          sink.unfollow(fd);
          close(fd);
        }),
      );
      return true;
    }
  }
}

function serve(fd: number, deps: ControlDeps): void {
  let request = '';
  os.setReadHandler(
    fd,
    guarded('lkctl request', () => {
      const chunk = lk.readString(fd);
      if (chunk === null) return;
      request += chunk;
      if (chunk !== '' && !request.includes('\n')) return;
      os.setReadHandler(fd, null);
      let cmd: ReturnType<typeof parseCommand>;
      try {
        cmd = parseCommand(JSON.parse(request));
      } catch {
        cmd = { error: 'malformed request' };
      }
      if ('error' in cmd) {
        reply(fd, false, `${cmd.error}\n`);
        close(fd);
        return;
      }
      const command = cmd;
      detach(
        'lkctl',
        execute(fd, command, deps).then(
          (keepOpen) => {
            if (!keepOpen) close(fd);
          },
          (e) => {
            reply(fd, false, `${errorMessage(e)}\n`);
            close(fd);
          },
        ),
      );
    }),
  );
}

export function listen(deps: ControlDeps): void {
  try {
    const server = lk.listenUnix(CONTROL_SOCKET);
    os.setReadHandler(
      server,
      guarded('lkctl accept', () => {
        const fd = lk.accept(server);
        if (fd !== null) serve(fd, deps);
      }),
    );
  } catch (e) {
    log(`lk-init: lkctl socket: ${errorMessage(e)}`);
  }
}
