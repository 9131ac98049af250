// Starts the e2e JupyterLab host (Debian jupyterlab_server + our npm-built frontend) on a free
// port with a repo-local Jupyter path, and stops it (its whole process group) afterwards.
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';

const HOST = path.resolve(import.meta.dirname, 'host');

function freePort() {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address();
      srv.close(() => resolve(port));
    });
  });
}

/** `labextensions`: dir of prebuilt extensions; `root`: notebook dir; `jupyterPath`: kernelspecs. */
export async function startLab({ labextensions, root, jupyterPath, logFile }) {
  const port = await freePort();
  const token = 'milkit-e2e';
  const log = fs.openSync(logFile, 'w');
  // Fresh user state per run: no tabs restored from an earlier session and no settings left behind
  // by a manual one (the tests switch the theme themselves and rely on where it starts).
  const state = fs.mkdtempSync(path.join(path.dirname(logFile), 'lab-state-'));
  const workspaces = path.join(state, 'workspaces');
  const userSettings = path.join(state, 'user_settings');
  fs.mkdirSync(workspaces);
  fs.mkdirSync(userSettings);
  const env = {
    ...process.env,
    MILKIT_LABEXTENSIONS: labextensions,
    MILKIT_WORKSPACES: workspaces,
    MILKIT_USER_SETTINGS: userSettings,
    JUPYTER_NO_CONFIG: '1',
    PYDEVD_DISABLE_FILE_VALIDATION: '1',
  };
  if (jupyterPath) env.JUPYTER_PATH = jupyterPath;
  const proc = spawn(
    '/usr/bin/python3',
    [
      path.join(HOST, 'main.py'),
      `--port=${port}`,
      '--ServerApp.port_retries=0',
      '--ServerApp.ip=127.0.0.1',
      `--ServerApp.token=${token}`,
      '--ServerApp.open_browser=False',
      '--ServerApp.allow_root=True',
      `--ServerApp.root_dir=${root}`,
    ],
    { env, stdio: ['ignore', log, log], detached: true },
  );
  const url = `http://127.0.0.1:${port}`;
  const exited = new Promise((resolve) => proc.once('exit', resolve));
  // jupyter_server can hang in "Shutting down 1 extension" after SIGTERM: escalate after 5 s.
  const stop = async () => {
    const kill = (signal) => {
      try {
        process.kill(-proc.pid, signal);
      } catch {
        /* already gone */
      }
    };
    if (proc.exitCode === null && proc.signalCode === null) {
      kill('SIGTERM');
      const done = await Promise.race([exited.then(() => true), new Promise((r) => setTimeout(() => r(false), 5000))]);
      if (!done) kill('SIGKILL');
    }
    fs.rmSync(state, { recursive: true, force: true });
  };
  for (let i = 0; i < 100; i++) {
    if (proc.exitCode !== null) break;
    try {
      const res = await fetch(`${url}/api/status?token=${token}`);
      if (res.ok) return { url, token, stop };
    } catch {
      /* not up yet */
    }
    await new Promise((r) => setTimeout(r, 200));
  }
  await stop();
  throw new Error(`JupyterLab host did not start; see ${logFile}:\n${fs.readFileSync(logFile, 'utf8').slice(-2000)}`);
}
