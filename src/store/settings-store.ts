/**
 * The template site's storage, covering only the calls the site makes. Values are opaque strings
 * here: encryption, env fallback and caching live above, in the template's settings service. The
 * audit (`settings_audit`) is append-only and never holds a value.
 */
/** `updated_at`: ISO-8601 UTC. */
export interface SettingRow { key: string; value: string; updated_at: string }

/** `fingerprint`: of the new value, or null for a deletion. */
export interface AuditEntry { fingerprint: string | null; actorIp: string | null }

export interface AuditRow { id: number; key: string; fingerprint: string | null; actor_ip: string | null; at: string }

/** Every row as of one committed state, and that state's generation (bumped by every write). */
export interface SettingsSnapshotRows { generation: number; rows: SettingRow[] }

/** One value of an atomic write: stored as given (already sealed when secret), audited with its fingerprint. */
export interface AtomicEntry { key: string; value: string; fingerprint: string }

/** What an atomic write committed: the state it was checked against, the new generation, and the `updated_at` of every row. */
export interface AtomicCommit { base: SettingsSnapshotRows; generation: number; updatedAt: string }

export interface OpenSettingsStoreOptions {
  /** Postgres only: the schema holding the tables (default `public`); separate schemas never see each other's changes. */
  schema?: string;
  /** Receives background problems (listener reconnects, idle connection errors) as text; never console.log. */
  log?: (msg: string) => void;
  /** Postgres only: how long to wait for a connection, or for ping, before failing (default 10 s). */
  connectTimeoutMs?: number;
}

export interface SettingsStore {
  readonly backend: 'sqlite' | 'postgres';
  /** Creates or upgrades the schema; safe to call on every start. */
  migrate(): Promise<void>;
  get(key: string): Promise<SettingRow | undefined>;
  getAll(): Promise<SettingRow[]>;
  /** Upserts the value and appends the audit row in one transaction (bumping the generation); last writer wins. */
  put(key: string, value: string, audit: AuditEntry): Promise<SettingRow>;
  /** Deletes the row (if any) and appends an audit row with a null fingerprint. */
  delete(key: string, audit: AuditEntry): Promise<void>;
  /**
   * The atomic write (issue 10): takes the write lock, reads the committed state, asks `prepare`
   * for the rows to write (it may throw to refuse: nothing is written), then writes them with their
   * audit rows and the generation bump in one transaction, notifying subscribers once committed.
   */
  writeAtomically(prepare: (base: SettingsSnapshotRows) => AtomicEntry[], actorIp: string | null): Promise<AtomicCommit>;
  /** The current generation: one cheap read, compared with a cache's before serving from it. */
  generation(): Promise<number>;
  /** Every row and the generation, read in one consistent snapshot. */
  snapshot(): Promise<SettingsSnapshotRows>;
  /** Newest first. */
  listAudit(limit?: number): Promise<AuditRow[]>;
  /** Throws when the database cannot be reached. */
  ping(): Promise<void>;
  /**
   * Calls `listener(key)` whenever any instance sharing this database changes a setting
   * (Postgres: LISTEN/NOTIFY; SQLite: this process only). Returns an unsubscribe function.
   */
  subscribe(listener: (key: string) => void): Promise<() => Promise<void>>;
  close(): Promise<void>;
}
