#!/usr/bin/env node
// Builds the service registries the registration tests run against, once, into
// ~/.cache/devlane-tools/peers/ (or $DEVLANE_TOOLS/peers): Consul from the Go module proxy, and a
// minimal Eureka server and a Nacos naming server from Maven Central (scripts/peers/eureka, nacos);
// also a Netty HTTP client (scripts/peers/netty), the real NIO library the Java agent is tested with.
// Idempotent; prints {"consul": path, "eureka": path, "nacos": path, "netty": path} as the last line of stdout.
// Plain Node built-ins: it runs before `npm ci` on a fresh machine.
import { execFileSync } from 'node:child_process';
import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
const CONSUL = 'v1.22.2';
const tools = process.env.DEVLANE_TOOLS ?? path.join(os.homedir(), '.cache', 'devlane-tools');
const peers = path.join(tools, 'peers');
const build = path.join(peers, 'build');
fs.mkdirSync(build, { recursive: true });

const log = (m) => process.stderr.write(`${m}\n`);
// Tools' output goes to stderr: stdout carries only the JSON result.
function run(cmd, args, opts) {
  execFileSync(cmd, args, { stdio: ['ignore', 2, 2], ...opts });
}

function buildConsul() {
  const out = path.join(peers, `consul-${CONSUL}`, 'consul');
  if (fs.existsSync(out)) return out;
  const started = Date.now();
  log(`building Consul ${CONSUL} into ${path.dirname(out)} (first time only)`);
  // Consul's go.mod replaces its nested modules (api, sdk, …) with ./dirs that the module zip does
  // not contain, so `go install consul@ver` is refused. A wrapper module requiring it ignores those
  // replaces and takes the published nested modules at the versions Consul requires.
  const wrap = path.join(build, `consul-${CONSUL}`);
  fs.mkdirSync(wrap, { recursive: true });
  const env = {
    ...process.env,
    GOTOOLCHAIN: 'local',
    GOFLAGS: '-mod=mod',
    CGO_ENABLED: '0',
    // The checksum database has no entries for some of Consul's nested-module tags.
    GONOSUMDB: 'github.com/hashicorp/consul',
  };
  const go = (...args) => run('go', args, { cwd: wrap, env });
  if (!fs.existsSync(path.join(wrap, 'go.mod'))) go('mod', 'init', 'devlane.local/consul-build');
  // Consul's own excludes (a go-msgpack release with breaking changes) do not apply to a dependency either.
  go('mod', 'edit', '-exclude=github.com/hashicorp/go-msgpack@v1.1.5', '-exclude=github.com/hashicorp/go-msgpack@v1.1.6');
  go('get', `github.com/hashicorp/consul@${CONSUL}`);
  fs.mkdirSync(path.dirname(out), { recursive: true });
  go('build', '-trimpath', '-ldflags', '-s -w', '-o', `${out}.tmp`, 'github.com/hashicorp/consul');
  fs.renameSync(`${out}.tmp`, out);
  log(`  Consul built in ${Math.round((Date.now() - started) / 1000)} s`);
  return out;
}

/** A Spring Boot peer from scripts/peers/<name> (its pom pins every version) as one runnable jar. */
function buildJar(name) {
  const src = path.join(here, name);
  // Keyed by the sources, so an edit rebuilds.
  const hash = crypto.createHash('sha256');
  const files = fs.readdirSync(src, { recursive: true }).map(String).filter((f) => fs.statSync(path.join(src, f)).isFile()).sort();
  for (const f of files) hash.update(f).update(fs.readFileSync(path.join(src, f)));
  const key = hash.digest('hex').slice(0, 12);
  const out = path.join(peers, `${name}-${key}`, `${name}-peer.jar`);
  if (fs.existsSync(out)) return out;
  const started = Date.now();
  log(`building the ${name} peer into ${path.dirname(out)} (first time only)`);
  const work = path.join(build, `${name}-${key}`);
  fs.rmSync(work, { recursive: true, force: true });
  fs.cpSync(src, work, { recursive: true });
  run('mvn', ['-B', '-q', '-DskipTests', 'package'], { cwd: work });
  fs.mkdirSync(path.dirname(out), { recursive: true });
  fs.copyFileSync(path.join(work, 'target', `${name}-peer.jar`), `${out}.tmp`);
  fs.renameSync(`${out}.tmp`, out);
  fs.rmSync(work, { recursive: true, force: true });
  log(`  ${name} built in ${Math.round((Date.now() - started) / 1000)} s`);
  return out;
}

const result = { consul: buildConsul(), eureka: buildJar('eureka'), nacos: buildJar('nacos'), netty: buildJar('netty') };
process.stdout.write(`${JSON.stringify(result)}\n`);
