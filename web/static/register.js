// The registration form's password strength meter: a quick guess of how
// hard the password is to find, shown as it is typed. The server's check
// (the same the REST face gives) decides on submit.
const password = document.getElementById("password");
const meter = document.getElementById("strength");
if (password && meter) {
  meter.hidden = false;
  password.addEventListener("input", () => {
    const v = password.value;
    let score = 0;
    if (v.length >= 12) score++;
    if (v.length >= 16) score++;
    if (/[a-zA-Z]/.test(v) && /[0-9]/.test(v)) score++;
    if (/[^a-zA-Z0-9]/.test(v)) score++;
    if (v.length < 8) score = 0;
    meter.value = score;
  });
}
