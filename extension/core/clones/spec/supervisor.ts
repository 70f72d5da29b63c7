/**
 * The keep-alive supervisor: a POSIX sh script that becomes the clone container's main process.
 *
 * It travels inline in the Pod spec (`/bin/sh -c <script> devlane-supervisor <app command…>`), so
 * it needs nothing but the image's own /bin/sh: no init container, no ConfigMap to create and
 * clean up, and anyone reading the spec sees exactly what runs. The app's argv arrives as "$@",
 * untouched by any quoting.
 *
 * Protocol with Devlane (all under /devlane, the clone's emptyDir):
 * - supervisor.pid   the supervisor's pid; SIGHUP to it restarts the app, SIGTERM ends the pod
 * - app.run          "<run> <pid>" written each time the app starts (run counts from 1)
 * - app.exit         "<run> <exit code>" written each time the app ends
 * - deploy/current   "<version>\n<entry>\n": before each start the supervisor links the
 *                    deployed version (a folder, or one file in it) at the path in deploy/target
 * - capture/         tcpdump's rotating pcap files; the app starts only once capturing began
 * - expires          when the clone expires, in seconds since the epoch on this container's clock:
 *                    set from DEVLANE_TTL_SECONDS at start, moved by Devlane's heartbeat (through
 *                    exec, so no clock skew). When it passes, a watchdog stops the app and it stays
 *                    stopped until a deploy or restart: a developer who vanished (VS Code crashed)
 *                    leaves nothing running beyond the TTL, even before the reaper deletes the pod.
 * The app inherits the supervisor's stdout and stderr, so its output is the container log.
 */
export const supervisorScript = `# Devlane keep-alive supervisor: keeps the pod up when the app exits; SIGHUP restarts the app.
D="\${DEVLANE_DIR:-/devlane}"
mkdir -p "$D/deploy" "$D/capture"
echo $$ > "$D/supervisor.pid"
app=0; idle=0; cap=0; restart=0; stop=0; run=0; rc=0; expired=0; dog=0
say() { echo "[devlane] $*"; }
halt() {
  for p in $app $idle; do [ "$p" -gt 0 ] && kill -TERM "$p" 2>/dev/null; done
  if [ "$app" -gt 0 ]; then a=$app; ( sleep "\${DEVLANE_STOP_GRACE:-10}"; kill -KILL "$a" 2>/dev/null ) & fi
}
trap 'restart=1; halt' HUP
trap 'stop=1; halt' TERM INT
trap 'expired=1; [ "$app" -gt 0 ] && halt' USR1
install() {
  [ -f "$D/deploy/current" ] && [ -f "$D/deploy/target" ] || return 0
  { read -r v; read -r e; } < "$D/deploy/current"
  t=$(cat "$D/deploy/target")
  src="$D/deploy/$v"; [ "$e" = "." ] || src="$src/$e"
  if [ -e "$src" ] && mkdir -p "$(dirname "$t")" && rm -rf "$t" && ln -s "$src" "$t"; then say "deployed $v at $t"; else say "could not put deployed $v at $t; running what is there"; fi
}
waitcapture() {
  i=0
  while [ $i -lt 150 ]; do
    for f in "$D"/capture/capture.pcap*; do [ -e "$f" ] && return 0; done
    sleep 0.1; i=$((i+1))
  done
  say "packet capture did not start within 15 s; starting the app anyway"
}
case "\${DEVLANE_CAPTURE:-off}" in
  image)
    if command -v tcpdump >/dev/null 2>&1; then
      set -f
      tcpdump -i "\${DEVLANE_CAPTURE_IF:-any}" -U -Z root -w "$D/capture/capture.pcap" -C "\${DEVLANE_CAPTURE_MB:-10}" -W "\${DEVLANE_CAPTURE_FILES:-5}" $DEVLANE_CAPTURE_FILTER &
      cap=$!
      set +f
      waitcapture
    else
      say "no tcpdump in this image: no capture (use the capture sidecar instead)"
    fi ;;
  sidecar) waitcapture ;;
esac
if [ -n "\${DEVLANE_TTL_SECONDS:-}" ]; then
  [ -s "$D/expires" ] || echo $(( $(date +%s) + DEVLANE_TTL_SECONDS )) > "$D/expires"
  ( sent=
    while kill -0 $$ 2>/dev/null; do
      e=$(cat "$D/expires" 2>/dev/null)
      if [ -n "$e" ] && [ "$e" != "$sent" ] && [ "$(date +%s)" -ge "$e" ] 2>/dev/null; then sent=$e; kill -USR1 $$ 2>/dev/null || exit 0; fi
      sleep "\${DEVLANE_WATCH_SECONDS:-15}"
    done ) &
  dog=$!
fi
while [ "$stop" = 0 ]; do
  restart=0; expired=0
  install
  run=$((run+1))
  "$@" &
  app=$!
  echo "$run $app" > "$D/app.run"
  say "app started (run $run, pid $app)"
  while :; do wait "$app"; rc=$?; kill -0 "$app" 2>/dev/null || break; done
  app=0
  echo "$run $rc" > "$D/app.exit"
  [ "$stop" = 1 ] && break
  if [ "$restart" = 0 ]; then
    if [ "$expired" = 1 ]; then say "the clone expired (no heartbeat from Devlane): app stopped. A deploy or 'Devlane: Restart App in Clone' starts it again"
    else say "app exited with code $rc; the pod stays up. Restart it with 'Devlane: Restart App in Clone' (or kill -HUP $$)"; fi
    sleep 2147483647 & idle=$!
    # Only HUP and TERM end the idle wait (they kill it); an expiry signal meanwhile changes nothing.
    while [ "$restart" = 0 ] && [ "$stop" = 0 ]; do wait "$idle"; kill -0 "$idle" 2>/dev/null || break; done
    kill "$idle" 2>/dev/null; idle=0
  fi
done
[ "$cap" -gt 0 ] && kill -TERM "$cap" 2>/dev/null
[ "$dog" -gt 0 ] && kill "$dog" 2>/dev/null
say "supervisor stopping"
exit 0
`;

/**
 * Moves the expiry the supervisor's watchdog enforces to `seconds` from now on the container's
 * own clock. Run through exec as `sh -c <script> devlane-renew <seconds>`.
 */
export const renewScript = 'D="${DEVLANE_DIR:-/devlane}"; echo $(( $(date +%s) + $1 )) > "$D/expires.tmp" && mv -f "$D/expires.tmp" "$D/expires" && echo ok';

/** Argv[0] the app command sees as $0 inside the script; shows up in `ps`. */
export const supervisorName = 'devlane-supervisor';

/**
 * Protects shell text placed in a container's command or args from the kubelet's variable
 * expansion, where `$$` becomes `$` and `$(NAME)` the value of NAME: doubling every `$` gives
 * back exactly the original after expansion.
 */
export function escapeKubernetesExpansion(text: string): string {
  return text.replace(/\$/g, '$$$$');
}

/** The container command that runs the app under the supervisor. */
export function supervisedCommand(appCommand: readonly string[]): string[] {
  // The app's own argv keeps its expansion: the kubelet expanded it in the original spec too.
  return ['/bin/sh', '-c', escapeKubernetesExpansion(supervisorScript), supervisorName, ...appCommand];
}

/** Whether a container command is the supervisor (a clone made with keep-alive). */
export function isSupervised(command: readonly string[] | undefined): boolean {
  return !!command && command[0] === '/bin/sh' && command[1] === '-c' && command[3] === supervisorName;
}

/** The app command a supervised container runs. */
export function appCommandOf(command: readonly string[]): string[] {
  return isSupervised(command) ? command.slice(4) : [...command];
}
