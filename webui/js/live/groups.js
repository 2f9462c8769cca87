/**
 * Multi-view groups (SPEC D7): named groups of at most four camera users, kept in this
 * browser's localStorage per organization, made by a form or by dragging camera users onto
 * a group (or onto "New group"). A drop onto a full group is refused and says why.
 */

import { field, h, message, put } from '../dom.js';

export const MAX_MEMBERS = 4; // D7; bwlab/wire/constants.py GROUP_MAX_MEMBERS (tests/js/constants.test.mjs)

export class GroupStore {
  constructor(orgId) {
    this.key = `bwlab.live.groups.${orgId}`;
  }

  all() {
    try {
      const groups = JSON.parse(localStorage.getItem(this.key) || '[]');
      return Array.isArray(groups) ? groups : [];
    } catch {
      return [];
    }
  }

  save(groups) {
    localStorage.setItem(this.key, JSON.stringify(groups));
  }

  create(name, members) {
    const clean = name.trim();
    if (!clean) throw new Error('Give the group a name.');
    if (members.length > MAX_MEMBERS) throw new Error(`A group holds at most ${MAX_MEMBERS} camera users.`);
    const groups = this.all();
    if (groups.some((g) => g.name === clean)) throw new Error(`A group named “${clean}” exists already.`);
    groups.push({ name: clean, members: [...new Set(members)] });
    this.save(groups);
  }

  add(name, userId) {
    const groups = this.all();
    const group = groups.find((g) => g.name === name);
    if (!group) throw new Error(`No group named “${name}”.`);
    if (group.members.includes(userId)) return;
    if (group.members.length >= MAX_MEMBERS) throw new Error(`“${name}” is full: a group holds at most ${MAX_MEMBERS} camera users.`);
    group.members.push(userId);
    this.save(groups);
  }

  removeMember(name, userId) {
    const groups = this.all();
    const group = groups.find((g) => g.name === name);
    if (group) group.members = group.members.filter((m) => m !== userId);
    this.save(groups);
  }

  remove(name) {
    this.save(this.all().filter((g) => g.name !== name));
  }

  nextName() {
    const names = new Set(this.all().map((g) => g.name));
    let n = 1;
    while (names.has(`Group ${n}`)) n += 1;
    return `Group ${n}`;
  }
}

const DRAG_TYPE = 'application/x-bwlab-camera-user';

/** Make a camera user's list item draggable onto groups. */
export function draggableUser(el, userId) {
  el.draggable = true;
  el.addEventListener('dragstart', (event) => {
    event.dataTransfer.setData(DRAG_TYPE, userId);
    event.dataTransfer.setData('text/plain', userId);
    event.dataTransfer.effectAllowed = 'copy';
  });
}

function dropTarget(el, onDrop) {
  el.addEventListener('dragover', (event) => {
    event.preventDefault();
    el.classList.add('drop-over');
  });
  el.addEventListener('dragleave', () => el.classList.remove('drop-over'));
  el.addEventListener('drop', (event) => {
    event.preventDefault();
    el.classList.remove('drop-over');
    const userId = event.dataTransfer.getData(DRAG_TYPE) || event.dataTransfer.getData('text/plain');
    if (userId) onDrop(userId);
  });
}

/**
 * The Groups section: the form, the "New group" drop zone and a card per group.
 * users: camera users [{id, name}]; onOpen(group) shows a group side by side.
 * The section is built once; setUsers(users) refreshes the member checkboxes and the cards in
 * place, so a refresh arriving while someone fills the form keeps the name and the ticks.
 */
export function groupsSection(store, users, onOpen) {
  const section = h('section', { class: 'card', 'aria-labelledby': 'h-groups' });
  const out = h('div', { class: 'out', 'aria-live': 'polite' });
  const list = h('ul', { class: 'groups list' });
  const members = h('div', { class: 'members-choice' });
  let known = [];
  const nameOf = (id) => (known.find((u) => u.id === id) || { name: id }).name;
  const attempt = (fn) => {
    put(out);
    try {
      fn();
      render();
    } catch (err) {
      put(out, message('error', err.message, 'group_refused'));
    }
  };

  const form = h('form', { class: 'group-form', 'aria-label': 'New group' },
    field('Group name', h('input', { name: 'name', required: true, maxlength: 60 })),
    h('fieldset', {}, h('legend', {}, `Camera users (up to ${MAX_MEMBERS})`), members),
    h('button', { type: 'submit' }, 'Create'));
  form.addEventListener('submit', (event) => {
    event.preventDefault();
    const chosen = [...form.querySelectorAll('input[name=member]:checked')].map((el) => el.value);
    attempt(() => {
      store.create(form.elements.name.value, chosen);
      form.reset();
    });
  });

  const newZone = h('div', { class: 'drop-zone', role: 'note' }, 'Drop a camera user here to make a new group');
  dropTarget(newZone, (userId) => attempt(() => store.create(store.nextName(), [userId])));

  function renderMembers() {
    const ticked = new Set([...members.querySelectorAll('input[name=member]:checked')].map((el) => el.value));
    put(members, known.map((u) => h('label', { class: 'check' },
      h('input', { type: 'checkbox', name: 'member', value: u.id, checked: ticked.has(u.id) }), u.name)));
  }

  function render() {
    put(list, store.all().map((group) => {
      const card = h('li', { class: 'group drop-zone', dataset: { group: group.name } },
        h('div', { class: 'row' },
          h('button', { type: 'button', class: 'link', onclick: () => onOpen(group) }, h('strong', {}, group.name)),
          h('span', { class: 'count' }, `${group.members.length}/${MAX_MEMBERS}`),
          h('button', { type: 'button', class: 'small', 'aria-label': `Delete group ${group.name}`, onclick: () => attempt(() => store.remove(group.name)) }, 'Delete')),
        h('ul', { class: 'members' }, group.members.map((id) => h('li', {}, nameOf(id),
          h('button', { type: 'button', class: 'small', 'aria-label': `Remove ${nameOf(id)} from ${group.name}`,
            onclick: () => attempt(() => store.removeMember(group.name, id)) }, '×')))));
      dropTarget(card, (userId) => attempt(() => store.add(group.name, userId)));
      return card;
    }));
  }

  section.setUsers = (next) => {
    known = next;
    renderMembers();
    render();
  };
  section.setUsers(users);
  section.append(h('h2', { id: 'h-groups' }, 'Groups'), form, newZone, list, out);
  return section;
}
