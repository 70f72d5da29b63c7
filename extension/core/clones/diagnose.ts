import type { CoreV1Event, V1Pod } from '@kubernetes/client-node';
import { DevlaneError } from '../errors';

/** Where a new clone stands while Devlane waits for it to run. */
export type Diagnosis =
  | { readonly state: 'waiting'; readonly detail: string }
  | { readonly state: 'running' }
  | { readonly state: 'failed'; readonly error: DevlaneError };

const imagePullReasons = new Set(['ErrImagePull', 'ImagePullBackOff', 'InvalidImageName', 'ErrImageNeverPull', 'RegistryUnavailable']);
/** Reasons a container could not be started at all: with keep-alive, most likely no /bin/sh. */
const startReasons = new Set(['StartError', 'RunContainerError', 'CreateContainerError', 'ContainerCannotRun']);

/**
 * Reads a pod's status (and its events) the way a person would: scheduled? image pulled? app
 * container started? Pure, so every failure path is unit-tested without a cluster.
 */
export function diagnosePod(pod: V1Pod, events: readonly CoreV1Event[], appContainer: string, supervised: boolean, retryOriginal?: { title: string; command: string; args?: unknown[] }): Diagnosis {
  const name = `${pod.metadata?.namespace}/${pod.metadata?.name}`;
  const status = pod.status;
  if (status?.phase === 'Failed' || status?.phase === 'Succeeded') {
    return { state: 'failed', error: new DevlaneError('internal', `Clone ${name} ended (${status.phase}${status.reason ? `: ${status.reason}` : ''}${status.message ? ` — ${status.message}` : ''}). See its events and logs.`) };
  }
  const scheduled = status?.conditions?.find((c) => c.type === 'PodScheduled');
  if (scheduled?.status === 'False' && scheduled.reason === 'Unschedulable') {
    const ev = [...events].filter((e) => e.reason === 'FailedScheduling').sort((a, b) => time(b) - time(a))[0];
    const why = ev?.message ?? scheduled.message ?? 'no reason given';
    return {
      state: 'failed',
      error: new DevlaneError('unschedulable', `Clone ${name} cannot be scheduled: ${why}. Lower its resource requests, pin it to a node with room, or free capacity.`, { detail: why }),
    };
  }
  const cs = status?.containerStatuses?.find((c) => c.name === appContainer);
  for (const c of status?.containerStatuses ?? []) {
    const waiting = c.state?.waiting;
    if (waiting?.reason && imagePullReasons.has(waiting.reason)) {
      return { state: 'failed', error: new DevlaneError('image-pull', `The image "${c.image}" of container "${c.name}" in clone ${name} cannot be pulled (${waiting.reason}${waiting.message ? `: ${waiting.message}` : ''}). Check the image name and the pull secret, or choose another capture image.`) };
    }
  }
  let startProblem = cs?.state?.waiting?.reason && startReasons.has(cs.state.waiting.reason) ? cs.state.waiting : cs?.state?.terminated?.reason && startReasons.has(cs.state.terminated.reason) ? cs.state.terminated : undefined;
  // The supervisor never exits with 126 or 127 (it ends with 0): those are the codes of a shell
  // that could not be run at all — "cannot execute" and "not found" — from a runtime that reports
  // the failed exec as the container's exit rather than as a StartError.
  const ended = supervised ? [cs?.state?.terminated, cs?.lastState?.terminated].find((t) => t && (t.exitCode === 126 || t.exitCode === 127)) : undefined;
  if (!startProblem && ended) startProblem = { reason: `exit code ${ended.exitCode}`, message: ended.exitCode === 126 ? '/bin/sh cannot be executed' : '/bin/sh not found' };
  if (startProblem) {
    if (supervised) {
      return {
        state: 'failed',
        error: new DevlaneError(
          'no-shell',
          `The container "${appContainer}" of clone ${name} could not start the keep-alive supervisor (${startProblem.reason}${startProblem.message ? `: ${startProblem.message}` : ''}). Its image probably has no /bin/sh (distroless). Clone it with the original start command instead (no keep-alive, no deploy).`,
          { actions: retryOriginal ? [retryOriginal] : [] },
        ),
      };
    }
    return { state: 'failed', error: new DevlaneError('internal', `The container "${appContainer}" of clone ${name} could not start (${startProblem.reason}${startProblem.message ? `: ${startProblem.message}` : ''}).`) };
  }
  if (status?.phase === 'Running' && cs?.state?.running) return { state: 'running' };
  if (!scheduled || scheduled.status !== 'True') return { state: 'waiting', detail: 'waiting for the scheduler' };
  const waitingReason = cs?.state?.waiting?.reason;
  if (cs?.state?.terminated) return { state: 'waiting', detail: `app container ended (${cs.state.terminated.reason ?? cs.state.terminated.exitCode}); waiting for its restart` };
  return { state: 'waiting', detail: waitingReason ? `container ${waitingReason}` : `pod ${status?.phase ?? 'Pending'}` };
}

function time(e: CoreV1Event): number {
  const t = e.lastTimestamp ?? e.eventTime ?? e.firstTimestamp ?? e.metadata?.creationTimestamp;
  return t ? new Date(t as unknown as string).getTime() : 0;
}
