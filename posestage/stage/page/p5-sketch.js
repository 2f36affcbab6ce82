// posestage's pose stream in p5.js: one JSON message per frame over a WebSocket.
// Served by `posestage run --web 8080` at http://127.0.0.1:8080/_/page/p5.html; from another
// page, connect to ws://HOST:8080/_/poses (and ?token=... when the stage asks for one).
let bones = [];
let people = [];

function connect() {
  const ws = new WebSocket(`ws://${location.host}/_/poses`);
  ws.onmessage = (event) => {
    const msg = JSON.parse(event.data);
    if (msg.type === "hello") bones = msg.bones; // pairs of keypoint indices to join
    if (msg.type === "frame") people = msg.people; // id, slot, score, keypoints [x, y, score] 0..1
  };
  ws.onclose = () => setTimeout(connect, 1000);
}

function setup() {
  createCanvas(windowWidth, windowHeight);
  connect();
}

function draw() {
  background(0, 40);
  for (const person of people) {
    const k = person.keypoints;
    colorMode(HSB);
    stroke((person.slot * 60) % 360, 80, 100);
    strokeWeight(6);
    for (const [a, b] of bones) {
      if (k[a][2] > 0.2 && k[b][2] > 0.2) {
        line(k[a][0] * width, k[a][1] * height, k[b][0] * width, k[b][1] * height);
      }
    }
    noStroke();
    fill(255);
    const [x, y, s] = k[9]; // left_wrist
    if (s > 0.2) circle(x * width, y * height, 40);
  }
}
