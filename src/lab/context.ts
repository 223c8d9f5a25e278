// Finds a running lab from --lab and --state-root, and gives the commands an admin API client.
import { NeutrinoClient } from '../client/neutrino.ts';
import { labPaths, stateRoot, type LabPaths } from './paths.ts';
import { readLabState, type LabState } from './state.ts';
import { checkLabName, LabUsageError } from './topology.ts';

export interface LabRef {
  lab: string;
  stateRoot?: string;
}

export interface LabContext {
  paths: LabPaths;
  state: LabState;
}

export function labRefPaths(ref: LabRef): LabPaths {
  checkLabName(ref.lab);
  return labPaths(stateRoot(ref.stateRoot), ref.lab);
}

/** The lab's state; a LabUsageError when the lab is not up. */
export function loadLab(ref: LabRef): LabContext {
  const paths = labRefPaths(ref);
  const state = readLabState(paths);
  if (!state) throw new LabUsageError(`lab '${ref.lab}' is not up (no ${paths.labJson})`);
  return { paths, state };
}

export function adminClient(state: LabState): NeutrinoClient {
  if (!state.server.url) throw new LabUsageError(`lab '${state.lab}' has no server (lab up did not finish)`);
  const hint = `is lab '${state.lab}' still up? see \`neutrino lab status --lab ${state.lab}\``;
  return new NeutrinoClient(
    { url: state.server.url, hint, credentialsHint: hint },
    { username: 'admin', password: state.server.adminPassword, project: 'admin' },
  );
}

/** The namespace of a node name, or of `external`. */
export function nodeNamespace(state: LabState, node: string): string {
  if (node === 'external') return state.topology.external.namespace;
  const n = state.topology.nodes.find((x) => x.name === node);
  if (!n)
    throw new LabUsageError(
      `lab '${state.lab}' has no node '${node}' (nodes: ${state.topology.nodes.map((x) => x.name).join(', ')}, external)`,
    );
  return n.namespace;
}
