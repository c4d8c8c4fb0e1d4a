// Original file: launcher.proto


export interface InterfaceTap {
  'name'?: (string);
  'tap'?: (string);
}

export interface InterfaceTap__Output {
  'name': (string);
  'tap': (string);
}
