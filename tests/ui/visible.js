// What a reader sees: visible English words outside code and ids, whether the main table overflows sideways, and
// buttons at the top of the page that say the same thing (two 历史 that open different pages), and ids that occur
// twice (a table drawn twice).
(allowed) => {
  const skip = "PRE, CODE, SCRIPT, STYLE, TEXTAREA, SELECT, NOSCRIPT, .sync-json, .allow-english, .visually-hidden";
  const allow = new RegExp(allowed);
  const words = new Set();
  const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
  while (walker.nextNode()) {
    const element = walker.currentNode.parentElement;
    if (!element || element.closest(skip) || !element.checkVisibility({visibilityProperty: true})) continue;
    // A token: letters, digits and the marks ids use. Ids (digits, _, ., all capitals, an API's camelCase key such
    // as processCode or IsVerifyBaseDataField) are not English.
    const text = walker.currentNode.textContent.replace(/\{\w+\}/g, "");  // template placeholders: {title}
    for (const token of text.match(/[A-Za-z][\w.:/@\[\]-]*/g) || []) {
      if (/[\d_.:/@\[\]-]/.test(token) || token === token.toUpperCase() || /[a-z][A-Z]/.test(token)
          || allow.test(token)) continue;
      words.add(token);
    }
  }
  for (const input of document.querySelectorAll("input[type=submit], input[type=button]")) {
    if (input.checkVisibility() && /[a-z]{2,}/.test(input.value) && !allow.test(input.value)) words.add(input.value);
  }
  const table = document.querySelector("#result_list") || document.querySelector("#content-main table");
  const holder = table && (table.closest(".results") || table.parentElement);
  const tools = [...document.querySelectorAll(".object-tools a")].filter((a) => a.checkVisibility())
    .map((a) => a.textContent.trim());
  // A part of the page drawn twice (a block left open in a template) repeats its ids.
  const ids = [...document.querySelectorAll("[id]")].map((element) => element.id);
  return {
    english: [...words].sort(),
    repeatedIds: [...new Set(ids.filter((id, i) => ids.indexOf(id) !== i))],
    sameButtons: [...new Set(tools.filter((label, i) => tools.indexOf(label) !== i))],
    pageOverflow: document.documentElement.scrollWidth - document.documentElement.clientWidth,
    tableOverflow: holder ? holder.scrollWidth - holder.clientWidth : 0,
  };
}
