// Original file: launcher.proto


/**
 * A file beneath a host disk root, by identity: a path anyone may change is not
 * enough to open it by.
 */
export interface HostFile {
  /**
   * The host disk root (canonical), and the file's path beneath it.
   */
  'root'?: (string);
  'path'?: (string);
  /**
   * st_dev and st_ino, in decimal (exact beyond 2^53).
   */
  'dev'?: (string);
  'ino'?: (string);
}

/**
 * A file beneath a host disk root, by identity: a path anyone may change is not
 * enough to open it by.
 */
export interface HostFile__Output {
  /**
   * The host disk root (canonical), and the file's path beneath it.
   */
  'root': (string);
  'path': (string);
  /**
   * st_dev and st_ino, in decimal (exact beyond 2^53).
   */
  'dev': (string);
  'ino': (string);
}
