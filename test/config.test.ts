import { describe, expect, it } from 'vitest';
import { ConfigError, helpText, loadConfig, parseBytes, parseDuration } from '../src/config.js';

describe('configuration', () => {
  it('has defaults that start a gateway', () => {
    const config = loadConfig([], {});
    expect(config.adminPort).toBe(9091);
    expect(config.controllerName).toBe('mcplane.dev/gateway-controller');
    expect(config.sessionIdleTtl).toBe(30 * 60_000);
    expect(config.maxBodyBytes).toBe(4 * 1024 * 1024);
    expect(config.leaderElect).toBe(true);
  });

  it('takes flags over environment variables over defaults', () => {
    const env = { MCPLANE_ADMIN_PORT: '9000', MCPLANE_LOG_LEVEL: 'debug' };
    const config = loadConfig(['--admin-port', '9100', '--fanout-timeout=2s'], env);
    expect(config.adminPort).toBe(9100);
    expect(config.logLevel).toBe('debug');
    expect(config.fanoutTimeout).toBe(2000);
  });

  it('names every bad flag, and the environment variable it came from', () => {
    const attempt = () =>
      loadConfig(['--log-level', 'loud', '--max-body-bytes', '4 megs'], { MCPLANE_ADMIN_PORT: '70000' });
    expect(attempt).toThrow(ConfigError);
    const message = (() => {
      try {
        attempt();
      } catch (err) {
        return (err as Error).message;
      }
    })();
    expect(message).toContain('--log-level');
    expect(message).toContain('--max-body-bytes: "4 megs" is not a size');
    expect(message).toContain('--admin-port');
    expect(message).toContain('(from MCPLANE_ADMIN_PORT=70000)');
  });

  it('takes --log-format json, pretty or auto (the default), and names a bad one', () => {
    expect(loadConfig([], {}).logFormat).toBe('auto');
    expect(loadConfig(['--log-format', 'pretty'], {}).logFormat).toBe('pretty');
    expect(loadConfig([], { MCPLANE_LOG_FORMAT: 'json' }).logFormat).toBe('json');
    expect(() => loadConfig(['--log-format=text'], {})).toThrow(ConfigError);
    expect(() => loadConfig([], { MCPLANE_LOG_FORMAT: 'logfmt' })).toThrow(
      /--log-format: .*\(from MCPLANE_LOG_FORMAT=logfmt\)/,
    );
  });

  it('has documented limits, and refuses a headers timeout longer than the request timeout', () => {
    const config = loadConfig([], {});
    expect(config.requestTimeout).toBe(30_000);
    expect(config.headersTimeout).toBe(10_000);
    expect(config.maxClientConnections).toBe(256);
    expect(config.allowedOrigins).toEqual([]);
    expect(loadConfig(['--max-client-connections', '0'], {}).maxClientConnections).toBe(0);
    expect(() => loadConfig(['--request-timeout', '5s'], {})).toThrow(
      '--headers-timeout: must not be longer than --request-timeout',
    );
    expect(() => loadConfig(['--request-timeout', '0'], {})).toThrow(
      /--request-timeout: must be longer than 0/,
    );
  });

  it('takes --trusted-proxies as addresses and CIDRs, and names a bad entry', () => {
    expect(loadConfig(['--trusted-proxies', '10.0.0.0/8, ::1,192.168.1.7'], {}).trustedProxies).toEqual([
      '10.0.0.0/8',
      '::1',
      '192.168.1.7',
    ]);
    expect(() => loadConfig(['--trusted-proxies', '10.0.0.0/33'], {})).toThrow(/10\.0\.0\.0\/33/);
    expect(() => loadConfig(['--trusted-proxies', 'proxy.example'], {})).toThrow(
      /not an IP address or a CIDR/,
    );
  });

  it('rejects unknown flags with a pointer to --help', () => {
    expect(() => loadConfig(['--admin-prot', '1'], {})).toThrow(/--help/);
  });

  it('parses durations and sizes', () => {
    expect(parseDuration('250ms')).toBe(250);
    expect(parseDuration('1.5s')).toBe(1500);
    expect(parseDuration('2h')).toBe(7_200_000);
    expect(() => parseDuration('soon')).toThrow(/not a duration/);
    expect(parseBytes('512KiB')).toBe(524_288);
    expect(() => parseBytes('-1')).toThrow(/not a size/);
  });

  it('bounds SSE streams and session buffers by default as the proxy does, and refuses a stream cap under 64KiB', async () => {
    const { DEFAULT_MAX_STREAM_BUFFER } = await import('../src/proxy/mcp/wire/sse-stream.js');
    const { DEFAULT_SESSION_BUFFER_BYTES } = await import('../src/proxy/mcp/session/session-events.js');
    const config = loadConfig([], {});
    expect(config.maxStreamBuffer).toBe(DEFAULT_MAX_STREAM_BUFFER);
    expect(config.sessionBufferBytes).toBe(DEFAULT_SESSION_BUFFER_BYTES);
    expect(() => loadConfig(['--max-stream-buffer', '16KiB'], {})).toThrow(
      /--max-stream-buffer: must be at least 64KiB/,
    );
  });

  it('lists every flag in --help', () => {
    expect(helpText()).toContain('--session-key-file');
  });
});

describe('configuration checked at start', () => {
  it('names the flag of a bad session key, without echoing key material', async () => {
    const { startGateway } = await import('../src/gateway.js');
    const { silentLogger } = await import('../src/shared/logger.js');
    const { createMetrics } = await import('../src/shared/metrics.js');
    const secret = `k1:${'zz'.repeat(32)}`;
    const config = loadConfig(
      ['--manifests', 'examples/standalone', '--session-key', secret, '--admin-port', '0'],
      {},
    );
    const attempt = startGateway(config, silentLogger, createMetrics(undefined, { processMetrics: false }));
    await expect(attempt).rejects.toThrow(ConfigError);
    await expect(attempt).rejects.toThrow(/^--session-key: /);
    await expect(attempt).rejects.not.toThrow(/zzzz/);
  });

  it('names --session-key-file when the file cannot be read', async () => {
    const { startGateway } = await import('../src/gateway.js');
    const { silentLogger } = await import('../src/shared/logger.js');
    const { createMetrics } = await import('../src/shared/metrics.js');
    const config = loadConfig(
      ['--manifests', 'examples/standalone', '--session-key-file', '/nonexistent/keys'],
      {},
    );
    await expect(
      startGateway(config, silentLogger, createMetrics(undefined, { processMetrics: false })),
    ).rejects.toThrow(/^--session-key-file: cannot read \/nonexistent\/keys/);
  });
});
