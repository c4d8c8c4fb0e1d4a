// The accelerator probe guest: a 64 KiB -bios image that walks a CPU from reset to
// what a Linux kernel needs in its first second — 64-bit long mode with paging, an
// IDT, a local APIC timer interrupt that wakes `hlt`, the TSC, the 16-byte
// compare-and-swap SLUB uses, and a few million instructions against a deadline —
// and then tells QEMU to exit with a known status. No SeaBIOS runs: the CPU starts in
// this code, so the whole probe costs about as much as starting QEMU.
//
// Why these steps: on a nested PVM host (this project's dev machine) /dev/kvm opens
// and QEMU's query-kvm says enabled, but the host KVM runs guest-kernel code through
// its instruction emulator (~250x slower than TCG) and cannot emulate `cmpxchg16b`:
// QEMU reports "KVM internal error. Suberror: 1 / emulation failure" and pauses the
// guest for good. A Linux guest gets there in SLUB setup, right after "Memory: ...",
// after a minute of crawling through its decompressor. Real mode, protected mode,
// long mode, the APIC timer and hlt all work there: a boot sector or a guest that
// stops short of the compare-and-swap and the timed work would pass.
//
// Progress goes to isa-debugcon (port 0xe9) as one letter per finished stage, so a
// timeout can name the stage that hung; after 'W' come 8 hex digits: the work's time
// in APIC-timer nanoseconds (1 count per ns in QEMU's and KVM's local APIC).
//
// Each row is [machine code, NASM source]. The bytes are what runs; the source column
// is a complete NASM program (test/unit/accel-guest.test.ts reassembles it when nasm is
// installed and compares). Memory used: page tables 0x1000-0x4fff, IDT 0x6000, scratch
// 0x7000, stack below 0x9000, work buffer 2-4 MiB.

type Row = readonly [code: string, source: string];

const GUEST: readonly Row[] = [
  ['',                                    'bits 16'],
  ['',                                    'org 0xff000'],
  ['',                                    '; R: reset lands here in real mode (cs base 0xf0000); load a flat GDT and set CR0.PE'],
  ['',                                    'start16:'],
  ['fa',                                  '  cli'],
  ['fc',                                  '  cld'],
  ['b0 52',                               "  mov al, 'R'"],
  ['e6 e9',                               '  out 0xe9, al                        ; progress to isa-debugcon'],
  ['2e 66 0f 01 16 80 f2',                '  o32 lgdt [cs:(gdt_ptr - $$) + 0xf000]   ; cs base is 0xf0000'],
  ['0f 20 c0',                            '  mov eax, cr0'],
  ['0c 01',                               '  or al, 1                            ; CR0.PE'],
  ['0f 22 c0',                            '  mov cr0, eax'],
  ['66 ea 1d f0 0f 00 08 00',             '  jmp dword 0x08:pm32'],
  ['',                                    'bits 32'],
  ['',                                    '; P: 32-bit protected mode; identity-map 0-4 MiB and the local APIC, then PAE + EFER.LME + CR0.PG'],
  ['',                                    'pm32:'],
  ['66 b8 10 00',                         '  mov ax, 0x10'],
  ['8e d8',                               '  mov ds, ax'],
  ['8e c0',                               '  mov es, ax'],
  ['8e d0',                               '  mov ss, ax'],
  ['bc 00 90 00 00',                      '  mov esp, 0x9000'],
  ['b0 50',                               "  mov al, 'P'"],
  ['e6 e9',                               '  out 0xe9, al'],
  ['bf 00 10 00 00',                      '  mov edi, 0x1000                     ; zero the page tables at 0x1000-0x4fff'],
  ['31 c0',                               '  xor eax, eax'],
  ['b9 00 10 00 00',                      '  mov ecx, 0x1000'],
  ['f3 ab',                               '  rep stosd'],
  ['c7 05 00 10 00 00 03 20 00 00',       '  mov dword [0x1000], 0x2003          ; PML4[0] -> PDPT at 0x2000'],
  ['c7 05 00 20 00 00 03 30 00 00',       '  mov dword [0x2000], 0x3003          ; PDPT[0] -> PD at 0x3000 (0-1 GiB)'],
  ['c7 05 18 20 00 00 03 40 00 00',       '  mov dword [0x2018], 0x4003          ; PDPT[3] -> PD at 0x4000 (3-4 GiB)'],
  ['c7 05 00 30 00 00 83 00 00 00',       '  mov dword [0x3000], 0x000083        ; 0-2 MiB, 2 MiB page, RW'],
  ['c7 05 08 30 00 00 83 00 20 00',       '  mov dword [0x3008], 0x200083        ; 2-4 MiB: the work buffer'],
  ['c7 05 b8 4f 00 00 93 00 e0 fe',       '  mov dword [0x4fb8], 0xfee00093      ; PD[0x1f7]: local APIC at 0xfee00000, uncached'],
  ['b8 00 10 00 00',                      '  mov eax, 0x1000'],
  ['0f 22 d8',                            '  mov cr3, eax'],
  ['0f 20 e0',                            '  mov eax, cr4'],
  ['83 c8 20',                            '  or eax, 0x20                        ; CR4.PAE'],
  ['0f 22 e0',                            '  mov cr4, eax'],
  ['b9 80 00 00 c0',                      '  mov ecx, 0xc0000080                 ; EFER'],
  ['0f 32',                               '  rdmsr'],
  ['0d 00 01 00 00',                      '  or eax, 0x100                       ; EFER.LME'],
  ['0f 30',                               '  wrmsr'],
  ['0f 20 c0',                            '  mov eax, cr0'],
  ['0d 00 00 00 80',                      '  or eax, 0x80000000                  ; CR0.PG: long mode is now active'],
  ['0f 22 c0',                            '  mov cr0, eax'],
  ['ea ab f0 0f 00 18 00',                '  jmp 0x18:lm64'],
  ['',                                    'bits 64'],
  ['',                                    '; L: 64-bit long mode with 4-level paging; IDT, then a LAPIC timer interrupt must wake hlt'],
  ['',                                    'lm64:'],
  ['b0 4c',                               "  mov al, 'L'"],
  ['e6 e9',                               '  out 0xe9, al'],
  ['48 8b 04 25 40 f2 0f 00',             '  mov rax, [gate_unexpected]          ; IDT at 0x6000: 256 gates, all "unexpected"'],
  ['bf 00 60 00 00',                      '  mov edi, 0x6000'],
  ['b9 00 01 00 00',                      '  mov ecx, 256'],
  ['',                                    'fill:'],
  ['48 89 07',                            '  mov [rdi], rax'],
  ['48 c7 47 08 00 00 00 00',             '  mov qword [rdi + 8], 0'],
  ['48 83 c7 10',                         '  add rdi, 16'],
  ['ff c9',                               '  dec ecx'],
  ['75 ed',                               '  jnz fill'],
  ['48 8b 04 25 48 f2 0f 00',             '  mov rax, [gate_timer]'],
  ['48 89 04 25 00 62 00 00',             '  mov [0x6200], rax                   ; vector 0x20: timer'],
  ['48 8b 04 25 50 f2 0f 00',             '  mov rax, [gate_spurious]'],
  ['48 89 04 25 f0 6f 00 00',             '  mov [0x6ff0], rax                   ; vector 0xff: APIC spurious'],
  ['48 8b 04 25 58 f2 0f 00',             '  mov rax, [gate_slow]'],
  ['48 89 04 25 10 62 00 00',             '  mov [0x6210], rax                   ; vector 0x21: the work deadline'],
  ['0f 01 1c 25 86 f2 0f 00',             '  lidt [idt_ptr]'],
  ['0f 31',                               '  rdtsc'],
  ['41 89 c0',                            '  mov r8d, eax'],
  ['be 00 00 e0 fe',                      '  mov esi, 0xfee00000                 ; rsi = local APIC base from here on'],
  ['c7 86 f0 00 00 00 ff 01 00 00',       '  mov dword [rsi + 0xf0], 0x1ff       ; SVR: APIC on, spurious vector 0xff'],
  ['c7 86 e0 03 00 00 0b 00 00 00',       '  mov dword [rsi + 0x3e0], 0x0b       ; timer divide by 1'],
  ['c7 86 20 03 00 00 20 00 00 00',       '  mov dword [rsi + 0x320], 0x20       ; LVT timer: one-shot, vector 0x20'],
  ['c7 86 80 03 00 00 a0 86 01 00',       '  mov dword [rsi + 0x380], 100000     ; initial count: 100 us'],
  ['',                                    'idle:'],
  ['fa',                                  '  cli'],
  ['83 3c 25 00 71 00 00 00',             '  cmp dword [0x7100], 0               ; timer ticks'],
  ['75 04',                               '  jne fired'],
  ['fb',                                  "  sti                                 ; sti's shadow covers hlt: no lost wakeup"],
  ['f4',                                  '  hlt'],
  ['eb f1',                               '  jmp idle'],
  ['',                                    'fired:'],
  ['0f 31',                               '  rdtsc'],
  ['44 39 c0',                            '  cmp eax, r8d'],
  ['0f 84 ca 00 00 00',                   '  je fail_tsc'],
  ['',                                    '; T: the timer fired and woke hlt, and the TSC moved; now the 16-byte compare-and-swap SLUB uses'],
  ['b0 54',                               "  mov al, 'T'"],
  ['e6 e9',                               '  out 0xe9, al'],
  ['b8 01 00 00 00',                      '  mov eax, 1'],
  ['0f a2',                               '  cpuid'],
  ['0f ba e1 0d',                         '  bt ecx, 13                          ; CPUID.1:ECX.CX16'],
  ['73 43',                               '  jnc atomic_done'],
  ['48 c7 04 25 00 70 00 00 01 00 00 00', '  mov qword [0x7000], 1'],
  ['48 c7 04 25 08 70 00 00 02 00 00 00', '  mov qword [0x7008], 2'],
  ['b8 01 00 00 00',                      '  mov eax, 1                          ; expect rdx:rax = 2:1'],
  ['ba 02 00 00 00',                      '  mov edx, 2'],
  ['bb 03 00 00 00',                      '  mov ebx, 3                          ; store rcx:rbx = 4:3'],
  ['b9 04 00 00 00',                      '  mov ecx, 4'],
  ['f0 48 0f c7 0c 25 00 70 00 00',       '  lock cmpxchg16b [0x7000]'],
  ['75 7d',                               '  jne fail_atomic'],
  ['48 83 3c 25 08 70 00 00 04',          '  cmp qword [0x7008], 4'],
  ['75 72',                               '  jne fail_atomic'],
  ['',                                    'atomic_done:'],
  ['',                                    '; A: 1M iterations (5M instructions over 2 MiB) against a 500 ms APIC-timer deadline'],
  ['b0 41',                               "  mov al, 'A'"],
  ['e6 e9',                               '  out 0xe9, al'],
  ['c7 86 20 03 00 00 21 00 00 00',       '  mov dword [rsi + 0x320], 0x21       ; LVT timer: one-shot, vector 0x21'],
  ['c7 86 80 03 00 00 00 65 cd 1d',       '  mov dword [rsi + 0x380], 500000000  ; deadline: 500 ms (1 count per ns)'],
  ['fb',                                  '  sti                                 ; at the deadline, vector 0x21 -> fail_slow'],
  ['b9 40 42 0f 00',                      '  mov ecx, 1000000'],
  ['bf 00 00 20 00',                      '  mov edi, 0x200000'],
  ['',                                    'work:'],
  ['89 c8',                               '  mov eax, ecx'],
  ['25 f8 ff 1f 00',                      '  and eax, 0x1ffff8'],
  ['48 01 0c 07',                         '  add [rdi + rax], rcx'],
  ['ff c9',                               '  dec ecx'],
  ['75 f1',                               '  jnz work'],
  ['fa',                                  '  cli'],
  ['41 b9 00 65 cd 1d',                   '  mov r9d, 500000000'],
  ['44 2b 8e 90 03 00 00',                '  sub r9d, [rsi + 0x390]              ; ns spent = initial - current count'],
  ['b0 57',                               "  mov al, 'W'"],
  ['e6 e9',                               '  out 0xe9, al'],
  ['b9 08 00 00 00',                      '  mov ecx, 8                          ; print r9d as 8 hex digits'],
  ['',                                    'hex:'],
  ['41 c1 c1 04',                         '  rol r9d, 4'],
  ['44 89 c8',                            '  mov eax, r9d'],
  ['83 e0 0f',                            '  and eax, 0xf'],
  ['04 30',                               "  add al, '0'"],
  ['3c 39',                               "  cmp al, '9'"],
  ['76 02',                               '  jbe digit'],
  ['04 27',                               "  add al, 'a' - '9' - 1"],
  ['',                                    'digit:'],
  ['e6 e9',                               '  out 0xe9, al'],
  ['ff c9',                               '  dec ecx'],
  ['75 e8',                               '  jnz hex'],
  ['41 81 f9 00 65 cd 1d',                '  cmp r9d, 500000000                  ; the count ran out before cli'],
  ['73 10',                               '  jae fail_slow'],
  ['b0 2a',                               '  mov al, 0x2a                        ; pass: QEMU exits with 0x2a << 1 | 1 = 85'],
  ['eb 0e',                               '  jmp exit'],
  ['',                                    '; exits: isa-debug-exit makes QEMU exit with status (al << 1) | 1'],
  ['',                                    'fail_unexpected:'],
  ['b0 01',                               '  mov al, 1                           ; exit status 3'],
  ['eb 0a',                               '  jmp exit'],
  ['',                                    'fail_atomic:'],
  ['b0 02',                               '  mov al, 2                           ; exit status 5'],
  ['eb 06',                               '  jmp exit'],
  ['',                                    'fail_tsc:'],
  ['b0 03',                               '  mov al, 3                           ; exit status 7'],
  ['eb 02',                               '  jmp exit'],
  ['',                                    'fail_slow:'],
  ['b0 04',                               '  mov al, 4                           ; exit status 9'],
  ['',                                    'exit:'],
  ['e6 f4',                               '  out 0xf4, al                        ; isa-debug-exit'],
  ['fa',                                  '  cli'],
  ['f4',                                  '  hlt'],
  ['',                                    '; interrupt handlers and tables (read-only: they live in ROM)'],
  ['',                                    'timer:'],
  ['ff 04 25 00 71 00 00',                '  inc dword [0x7100]'],
  ['c7 86 b0 00 00 00 00 00 00 00',       '  mov dword [rsi + 0xb0], 0           ; EOI'],
  ['',                                    'spurious:'],
  ['48 cf',                               '  iretq'],
  ['00',                                  '  align 8, db 0'],
  ['',                                    '%define ADDR(label) (label - $$ + 0xff000)'],
  ['',                                    '%define GATE(label) ((ADDR(label) & 0xffff) | (0x18 << 16) | (0x8e00 << 32) | ((ADDR(label) >> 16) << 48))'],
  ['',                                    'gate_unexpected:                      ; interrupt gates: offset, selector 0x18, present, DPL 0, type 0xe'],
  ['1a f2 18 00 00 8e 0f 00',             '  dq GATE(fail_unexpected)'],
  ['',                                    'gate_timer:'],
  ['2c f2 18 00 00 8e 0f 00',             '  dq GATE(timer)'],
  ['',                                    'gate_spurious:'],
  ['3d f2 18 00 00 8e 0f 00',             '  dq GATE(spurious)'],
  ['',                                    'gate_slow:'],
  ['26 f2 18 00 00 8e 0f 00',             '  dq GATE(fail_slow)'],
  ['',                                    'gdt:'],
  ['00 00 00 00 00 00 00 00',             '  dq 0'],
  ['ff ff 00 00 00 9b cf 00',             '  dq 0x00cf9b000000ffff               ; 0x08: 32-bit code, flat, accessed (ROM: no write-back)'],
  ['ff ff 00 00 00 93 cf 00',             '  dq 0x00cf93000000ffff               ; 0x10: data, flat, accessed'],
  ['ff ff 00 00 00 9b af 00',             '  dq 0x00af9b000000ffff               ; 0x18: 64-bit code, accessed'],
  ['',                                    'gdt_ptr:'],
  ['1f 00',                               '  dw 0x1f'],
  ['60 f2 0f 00',                         '  dd gdt'],
  ['',                                    'idt_ptr:'],
  ['ff 0f',                               '  dw 0xfff'],
  ['00 60 00 00 00 00 00 00',             '  dq 0x6000'],
];

// The reset vector (physical 0xffff0, the last 16 bytes of the image).
const RESET: readonly Row[] = [
  ['',                                    'bits 16'],
  ['',                                    'org 0xffff0'],
  ['ea 00 f0 00 f0',                      '  jmp 0xf000:0xf000                   ; to start16 at physical 0xff000'],
];

/** QEMU maps a -bios image to end at 4 GiB and its last 128 KiB below 1 MiB; sizes are 64 KiB multiples. */
export const ROM_SIZE = 0x10000;
/** start16's offset in the image: physical 0xff000 through the below-1 MiB alias. */
export const GUEST_OFFSET = 0xf000;
export const RESET_OFFSET = 0xfff0;

/** The value the guest writes to isa-debug-exit when every stage passed. */
export const PASS_VALUE = 0x2a;
/** QEMU's exit status for an isa-debug-exit write of `value`. */
export function exitStatusOf(value: number): number {
  return (value << 1) | 1;
}

/** Failures the guest detects itself, by the value it writes to isa-debug-exit. */
export const GUEST_FAILURES: Readonly<Record<number, string>> = {
  1: 'unexpected CPU exception',
  2: 'lock cmpxchg16b gave a wrong result',
  3: 'the TSC did not advance across a timer interrupt',
  4: 'guest code runs too slowly',
};

/** The guest's deadline for its timed work (the LVT timer's initial count, vector 0x21). */
export const WORK_LIMIT_NS = 500_000_000;

/** Stages in order: the letter printed when one finishes, and what it exercises. */
export const STAGES: readonly { mark: string; name: string }[] = [
  { mark: 'R', name: 'real mode at the reset vector' },
  { mark: 'P', name: 'switch to 32-bit protected mode' },
  { mark: 'L', name: 'switch to 64-bit long mode with paging' },
  { mark: 'T', name: 'LAPIC timer interrupt waking hlt' },
  { mark: 'A', name: 'lock cmpxchg16b' },
  { mark: 'W', name: 'timed work (5M instructions)' },
];

/** Progress letters as printed by the guest, e.g. "RPLTAW000a1b2c" -> { passed: [...], stuckIn, workNs }. */
export function readProgress(output: string): { passed: string[]; stuckIn: string | undefined; workNs: number | undefined } {
  const passed: string[] = [];
  let stuckIn: string | undefined;
  for (const [i, stage] of STAGES.entries()) {
    if (output[i] === stage.mark) passed.push(stage.name);
    else { stuckIn = stage.name; break; }
  }
  const hex = /W([0-9a-f]{8})/.exec(output);
  return { passed, stuckIn, workNs: hex ? parseInt(hex[1]!, 16) : undefined };
}

function bytesOf(rows: readonly Row[]): Buffer {
  return Buffer.from(rows.map(([code]) => code.replace(/ /g, '')).join(''), 'hex');
}

/** The rows' NASM source, for reassembly. */
export function guestSource(): { guest: string; reset: string } {
  const src = (rows: readonly Row[]): string => rows.map(([, s]) => s).join('\n') + '\n';
  return { guest: src(GUEST), reset: src(RESET) };
}

export function guestCode(): { guest: Buffer; reset: Buffer } {
  return { guest: bytesOf(GUEST), reset: bytesOf(RESET) };
}

/** The 64 KiB image for `-bios`. */
export function probeRom(): Buffer {
  const { guest, reset } = guestCode();
  const rom = Buffer.alloc(ROM_SIZE);
  guest.copy(rom, GUEST_OFFSET);
  reset.copy(rom, RESET_OFFSET);
  return rom;
}
