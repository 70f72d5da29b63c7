/**
 * The in-clone half of a deploy, one POSIX sh script run through exec. One exec per deploy keeps
 * an incremental deploy to a single round trip: receive, stage, commit, restart, wait until up.
 *
 * Arguments: LEN VERSION BASE ENTRY TARGET PORT WAIT_S UPLOAD_S
 *   LEN      bytes of tar that follow on stdin; read exactly that many (stdin is never closed)
 *   VERSION  the new version's id (a folder under /devlane/deploy)
 *   BASE     the version the increment applies to, or "-" when everything is sent
 *   ENTRY    "." when the version folder is the artifact, else the file in it (a jar)
 *   TARGET   where the app reads it (the supervisor links the version there before each start)
 *   PORT     port whose LISTEN marks the app up, or "-" to wait only for the start
 *   WAIT_S   how long to wait for the app; UPLOAD_S how long the upload may take
 * The tar holds files/… (the changed files), meta/changed and meta/deleted (one path per line)
 * and meta/manifest (the new version's hashes, kept for the next increment).
 *
 * An upload cut off halfway never touches the running version: everything lands in a stage
 * folder, the new version is assembled beside the current one, and only a rename of the small
 * `current` file switches — after which the supervisor restarts the app on it.
 *
 * Prints one JSON line; exit codes are not relied on (some exec implementations lose them).
 */
export const deployScript = `
D="\${DEVLANE_DIR:-/devlane}"; R="$D/deploy"
len=$1; v=$2; base=$3; entry=$4; target=$5; port=$6; waits=$7; ups=$8
# Old versions go once the outcome is known, in the background: deleting a 50 MB jar must not
# delay the restart. The current and the previous version stay.
tidy() {
  ( for d in "$R"/* "$R"/.stage-*; do
      [ -e "$d" ] || continue
      b=\${d##*/}
      case "$b" in current|target|"$v"|"$v.manifest"|"$cur"|"$cur.manifest") ;; *) rm -rf "$d" ;; esac
    done ) </dev/null >/dev/null 2>&1 &
}
say() { printf '%s\\n' "$1"; exit 0; }
done_ok() { tidy; say "$1"; }
mkdir -p "$R" || say '{"ok":false,"error":"mkdir"}'
cur=; [ -f "$R/current" ] && { read -r cur; } < "$R/current"
S="$R/.stage-$v"; rm -rf "$S"; mkdir -p "$S"
# Bounds a cut-off upload; old busybox timeout has another syntax, so it is tried first.
T=; timeout 5 true >/dev/null 2>&1 && T="timeout $ups"
if ! $T head -c "$len" | tar -x -f - -C "$S"; then rm -rf "$S"; say '{"ok":false,"error":"upload"}'; fi
if [ "$base" != "-" ] && [ "$base" != "$cur" ]; then rm -rf "$S"; say "{\\"ok\\":false,\\"error\\":\\"base\\",\\"current\\":\\"$cur\\"}"; fi
N="$R/$v"; rm -rf "$N"
if [ "$base" = "-" ]; then
  if [ -d "$S/files" ]; then mv "$S/files" "$N"; else mkdir -p "$N"; fi
else
  # Hard links make the copy of the base nearly free; changed files are unlinked before being
  # written, so the base version (still running) keeps its own bytes.
  if ! cp -al "$R/$base" "$N" 2>/dev/null; then rm -rf "$N"; cp -R "$R/$base" "$N" || { rm -rf "$S" "$N"; say '{"ok":false,"error":"copy"}'; }; fi
  if [ -f "$S/meta/changed" ]; then while IFS= read -r f; do [ -n "$f" ] && rm -f "$N/$f"; done < "$S/meta/changed"; fi
  [ -d "$S/files" ] && { cp -R "$S/files/." "$N/" || { rm -rf "$S" "$N"; say '{"ok":false,"error":"copy"}'; }; }
fi
if [ -f "$S/meta/deleted" ]; then while IFS= read -r f; do [ -n "$f" ] && rm -rf "$N/$f"; done < "$S/meta/deleted"; fi
[ -f "$S/meta/manifest" ] && mv "$S/meta/manifest" "$R/$v.manifest"
rm -rf "$S"
printf '%s\\n' "$target" > "$R/target.tmp" && mv -f "$R/target.tmp" "$R/target"
printf '%s\\n%s\\n' "$v" "$entry" > "$R/current.tmp" && mv -f "$R/current.tmp" "$R/current"
run0=0; [ -f "$D/app.run" ] && read -r run0 _ < "$D/app.run"
[ -f "$D/supervisor.pid" ] || say '{"ok":false,"error":"no-supervisor"}'
kill -HUP "$(cat "$D/supervisor.pid")" 2>/dev/null || say '{"ok":false,"error":"no-supervisor"}'
hex=; [ "$port" != "-" ] && hex=$(printf '%04X' "$port")
i=0; n=$((waits * 25))
while [ $i -lt $n ]; do
  run=0; [ -f "$D/app.run" ] && read -r run _ < "$D/app.run"
  if [ "$run" -gt "$run0" ]; then
    ex=0; [ -f "$D/app.exit" ] && read -r ex code < "$D/app.exit"
    [ "$ex" = "$run" ] && say "{\\"ok\\":false,\\"error\\":\\"exited\\",\\"code\\":\\"$code\\",\\"version\\":\\"$v\\"}"
    if [ -z "$hex" ]; then done_ok "{\\"ok\\":true,\\"version\\":\\"$v\\",\\"run\\":$run}"; fi
    if grep -qsE "^ *[0-9]+: [0-9A-F]+:$hex [0-9A-F]+:0000 0A " /proc/net/tcp /proc/net/tcp6; then done_ok "{\\"ok\\":true,\\"version\\":\\"$v\\",\\"run\\":$run}"; fi
  fi
  # One fork per look: the JVM starting next door needs the CPU more than we do.
  sleep 0.04; i=$((i+1))
done
say "{\\"ok\\":false,\\"error\\":\\"timeout\\",\\"version\\":\\"$v\\"}"
`;

/** Reads what a clone has deployed: "<version>\\n<entry>\\n" then the manifest, for a cold client. */
export const stateScript = `
R="\${DEVLANE_DIR:-/devlane}/deploy"
[ -f "$R/current" ] || { echo '{"version":null}'; exit 0; }
{ read -r v; read -r e; } < "$R/current"
if [ -f "$R/$v.manifest" ] && [ -d "$R/$v" ]; then printf '{"version":"%s","entry":"%s","manifest":' "$v" "$e"; cat "$R/$v.manifest"; echo '}'; else echo '{"version":null}'; fi
`;

export type DeployOutcome =
  | { readonly ok: true; readonly version: string; readonly run: number }
  | { readonly ok: false; readonly error: 'mkdir' | 'upload' | 'base' | 'copy' | 'no-supervisor' | 'exited' | 'timeout'; readonly current?: string; readonly code?: string; readonly version?: string };

/** The script's last JSON line, or undefined if there is none. */
export function parseOutcome(stdout: string): DeployOutcome | undefined {
  const lines = stdout.trim().split('\n').reverse();
  for (const l of lines) {
    try {
      const v = JSON.parse(l) as unknown;
      if (typeof v === 'object' && v !== null && 'ok' in v) return v as DeployOutcome;
    } catch {
      // Not our line.
    }
  }
  return undefined;
}
