// What a reader sees on the page: visible English words outside code, and the main table's overflow.
(allowed) => {
  const skip = "PRE, CODE, SCRIPT, STYLE, TEXTAREA, INPUT, SELECT, OPTION, NOSCRIPT, .sync-json, .allow-english";
  const allow = new RegExp(allowed);
  const words = new Set();
  const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
  while (walker.nextNode()) {
    const node = walker.currentNode;
    const element = node.parentElement;
    if (!element || element.closest(skip)) continue;
    const style = getComputedStyle(element);
    if (style.visibility === "hidden" || element.offsetParent === null && style.position !== "fixed") continue;
    for (const word of node.textContent.match(/[A-Za-z][A-Za-z'-]*[a-z][A-Za-z'-]*/g) || []) {
      if (!allow.test(word)) words.add(word);
    }
  }
  const table = document.querySelector("#result_list, .main-table, #changelist table, #content-main table");
  const holder = table && (table.closest(".results") || table.parentElement);
  return {
    english: [...words].sort(),
    pageOverflow: document.documentElement.scrollWidth - document.documentElement.clientWidth,
    tableOverflow: holder ? holder.scrollWidth - holder.clientWidth : 0,
    tableRight: table ? Math.round(table.getBoundingClientRect().right) : 0,
  };
}
