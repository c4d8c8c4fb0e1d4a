// Original file: launcher.proto


export interface VcpuThread {
  'index'?: (number);
  'threadId'?: (number);
}

export interface VcpuThread__Output {
  'index': (number);
  'threadId': (number);
}
