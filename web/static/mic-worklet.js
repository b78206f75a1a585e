// Runs in the audio thread: microphone samples at the device rate in, PCM s16le 16 kHz mono out.
// Downsampling averages the input samples that fall in each output sample's span (a box filter
// against aliasing), which keeps speech clear for Whisper at almost no cost.
class Pcm16k extends AudioWorkletProcessor {
  constructor(options) {
    super();
    this.ratio = options.processorOptions.inputRate / 16000;
    this.next = this.ratio;  // input position where the current output sample ends
    this.pos = 0; this.sum = 0; this.count = 0;
    this.out = new Int16Array(320); this.fill = 0;  // 20 ms frames
    this.energy = 0; this.muted = false;
    this.port.onmessage = (e) => { this.muted = !!e.data.mute; };
  }
  process(inputs) {
    const input = inputs[0];
    if (!input || !input.length) return true;
    const ch = input[0];
    for (let i = 0; i < ch.length; i++) {
      this.sum += ch[i]; this.count += 1; this.pos += 1;
      if (this.pos >= this.next) {
        let v = this.muted ? 0 : this.sum / this.count;
        v = Math.max(-1, Math.min(1, v));
        this.energy += v * v;
        this.out[this.fill++] = v < 0 ? v * 32768 : v * 32767;
        this.sum = 0; this.count = 0; this.next += this.ratio;
        if (this.fill === this.out.length) {
          const level = Math.sqrt(this.energy / this.fill);
          this.port.postMessage({pcm: this.out.buffer, level}, [this.out.buffer]);
          this.out = new Int16Array(320); this.fill = 0; this.energy = 0;
        }
      }
    }
    if (this.pos > 1e9) { this.pos -= 1e9; this.next -= 1e9; }
    return true;
  }
}
registerProcessor("pcm16k", Pcm16k);
