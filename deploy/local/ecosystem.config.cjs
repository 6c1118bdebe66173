// pm2 process list for `pnpm run up`: the six services as local processes, restarted on crash
// like a pod. The environment given to `pnpm run up` reaches every service (spread below).
const path = require('node:path');
const { services } = require('./services.json');

const root = path.resolve(__dirname, '../..');
const logs = path.join(root, '.run', 'logs');
const addressOf = (name) => `127.0.0.1:${services.find((s) => s.name === name).grpcPort}`;

// Where each service finds the others; explicit variables given to `up` win.
const addresses = {
  PAYMENT_ADDR: addressOf('payment'),
  LEDGER_ADDR: addressOf('ledger'),
  BANK_INTEGRATION_ADDR: addressOf('bank-integration'),
  FRAUD_ADDR: addressOf('fraud'),
  CAMPAIGN_ADDR: addressOf('campaign-promo'),
};

module.exports = {
  apps: services.map((service) => ({
    name: `koban-${service.name}`,
    cwd: path.join(root, 'services', service.name),
    script: process.execPath,
    args: ['--import', 'tsx', '--import', '@koban/platform/telemetry-register', 'src/main.ts'],
    interpreter: 'none',
    autorestart: true,
    restart_delay: 500,
    min_uptime: 3000,
    max_restarts: 50,
    kill_timeout: 15000,
    out_file: path.join(logs, `${service.name}.log`),
    error_file: path.join(logs, `${service.name}.log`),
    merge_logs: true,
    env: {
      ...addresses,
      FAULTS_ENABLED: 'true',
      // Local only: requests from loopback may name their client in X-Forwarded-For, so tests
      // can act as many client IPs (the per-IP card-check throttle) from one machine.
      TRUSTED_PROXIES: '127.0.0.1',
      // Local span sink (OTLP/JSON lines) for `pnpm trace` and the card-data audit; set it empty
      // to turn it off, or set OTEL_EXPORTER_OTLP_ENDPOINT to send spans to a collector too.
      OTEL_SPANS_FILE: path.join(root, '.run', 'spans', 'spans.jsonl'),
      ...process.env,
      OTEL_SERVICE_NAME: service.name,
      METRICS_PORT: String(service.metricsPort),
      ...(service.grpcPort ? { GRPC_PORT: String(service.grpcPort) } : {}),
      ...(service.httpPort ? { HTTP_PORT: String(service.httpPort) } : {}),
    },
  })),
};
