import { keysFromVault } from '../../engine/run-keys.js';
import type { DesiredKeys } from '../../engine/site-state.js';
import type { DesiredVersions, FleetSite } from '../../store/fleet-store.js';
import type { KeyVersion, MaskedKey, StateStore } from '../../store/state-store.js';
import { DashboardError } from '../errors.js';

/** Where a site's desired version comes from: its own, a tag's override, or the fleet default. */
export interface EffectiveVersion {
  version_id: string | null;
  source: 'site' | 'tag' | 'fleet' | null;
  /** The tag whose override applies (source `tag`). */
  tag?: string;
}

/**
 * The version a site should hold: its own desired version, else the override of the first of its
 * tags that has one (tags keep the order they were given in), else the fleet default.
 *
 * @example effectiveVersion({ ...site, tags: ['eu'] }, { fleet: 'v1', tags: { eu: 'v2' } }) // { version_id: 'v2', source: 'tag', tag: 'eu' }
 */
export function effectiveVersion(
  site: Pick<FleetSite, 'desired_version_id' | 'tags'>,
  desired: DesiredVersions,
): EffectiveVersion {
  if (site.desired_version_id) return { version_id: site.desired_version_id, source: 'site' };
  for (const tag of site.tags) {
    const v = desired.tags[tag];
    if (v) return { version_id: v, source: 'tag', tag };
  }
  return desired.fleet ? { version_id: desired.fleet, source: 'fleet' } : { version_id: null, source: null };
}

/**
 * Key versions and their values, opened from the vault once per version: a run over 50,000 sites
 * with one version decrypts each value once.
 */
export class VersionKeys {
  private versions: Map<string, KeyVersion> | undefined;
  private readonly values = new Map<string, Promise<DesiredKeys>>();

  constructor(private readonly state: StateStore) {}

  async masked(versionId: string): Promise<Record<string, MaskedKey>> {
    return (await this.version(versionId)).keys;
  }

  async keys(versionId: string): Promise<DesiredKeys> {
    let v = this.values.get(versionId);
    if (!v) {
      v = this.version(versionId).then((version) => keysFromVault(this.state, version.keys));
      this.values.set(versionId, v);
    }
    return v;
  }

  private async version(id: string): Promise<KeyVersion> {
    this.versions ??= new Map((await this.state.listKeyVersions()).map((v) => [v.id, v]));
    const v = this.versions.get(id);
    if (!v) throw new DashboardError('key_version_not_found', `No key version ${id}.`);
    return v;
  }
}
