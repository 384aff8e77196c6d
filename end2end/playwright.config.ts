import * as os from "node:os";
import * as path from "node:path";
import { defineConfig, devices } from "@playwright/test";

const port = Number(process.env.E2E_PORT ?? 3100);
const twilioPort = Number(process.env.E2E_TWILIO_PORT ?? 3110);
const twilioUrl = `http://127.0.0.1:${twilioPort}`;
// The simulator writes the accounts it was seeded with here; specs read it.
process.env.E2E_TWILIO_ACCOUNTS ??= path.join(os.tmpdir(), `outreach-e2e-twilio-${twilioPort}.json`);
process.env.E2E_TWILIO_URL = twilioUrl;
// Demo mode, run as a newcomer runs it, for the campaign spec.
const demoPort = Number(process.env.E2E_DEMO_PORT ?? 3120);
process.env.E2E_DEMO_URL = `http://127.0.0.1:${demoPort}`;
process.env.E2E_DEMO_DIR ??= path.join(os.tmpdir(), `outreach-e2e-demo-${demoPort}`);
// One web and one worker process on PostgreSQL, for the spec that runs a
// campaign there.
const postgresPort = Number(process.env.E2E_PG_PORT ?? 3130);
process.env.E2E_PG_URL = `http://127.0.0.1:${postgresPort}`;
const binary = process.env.OUTREACH_BIN ?? "../target/release/outreach";
// The server's database lives here, so specs can act as the operator with
// the `outreach` command line (withdrawing a subscription, say).
process.env.E2E_WORK_DIR ??= path.join(os.tmpdir(), `outreach-e2e-${port}`);
process.env.OUTREACH_BIN = path.resolve(binary);

export default defineConfig({
  testDir: "./tests",
  timeout: 30_000,
  expect: { timeout: 10_000 },
  workers: 2,
  forbidOnly: !!process.env.CI,
  reporter: [["list"]],
  use: {
    baseURL: `http://127.0.0.1:${port}`,
    trace: "retain-on-failure",
  },
  projects: [
    {
      name: "chromium",
      use: {
        ...devices["Desktop Chrome"],
        launchOptions: {
          // Debian's Chromium: Playwright's own browser download is not reachable here.
          executablePath: process.env.CHROMIUM_PATH ?? "/usr/bin/chromium",
          args: [
            "--no-sandbox",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--no-first-run",
            "--disable-quic",
          ],
        },
      },
    },
  ],
  webServer: [
    {
      command: `${binary} twilio-sim --listen 127.0.0.1:${twilioPort} --write-accounts ${process.env.E2E_TWILIO_ACCOUNTS}`,
      url: `${twilioUrl}/_simulator/health`,
      reuseExistingServer: false,
      timeout: 30_000,
      stdout: "ignore",
      stderr: "pipe",
    },
    {
      command: "./serve-for-tests.sh",
      url: `http://127.0.0.1:${port}/healthz`,
      reuseExistingServer: false,
      timeout: 60_000,
      stdout: "ignore",
      stderr: "pipe",
      env: { E2E_TWILIO_URL: twilioUrl, E2E_WORK_DIR: process.env.E2E_WORK_DIR, OUTREACH_BIN: process.env.OUTREACH_BIN },
    },
    {
      command: "./serve-demo-for-tests.sh",
      url: `http://127.0.0.1:${demoPort}/healthz`,
      reuseExistingServer: false,
      timeout: 60_000,
      stdout: "ignore",
      stderr: "pipe",
      env: { E2E_DEMO_DIR: process.env.E2E_DEMO_DIR, E2E_DEMO_PORT: String(demoPort) },
    },
    {
      command: "./serve-postgres-for-tests.sh",
      url: `http://127.0.0.1:${postgresPort}/healthz`,
      reuseExistingServer: false,
      timeout: 60_000,
      stdout: "ignore",
      stderr: "pipe",
      env: { E2E_TWILIO_URL: twilioUrl, E2E_PG_PORT: String(postgresPort), OUTREACH_BIN: process.env.OUTREACH_BIN },
    },
  ],
});
